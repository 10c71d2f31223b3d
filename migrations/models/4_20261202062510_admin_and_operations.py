"""Migration 'admin_and_operations': written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    "sqlite": """
BEGIN;
CREATE TABLE IF NOT EXISTS "admin_actions" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "admin_id" BIGINT NOT NULL,
    "action" VARCHAR(32) NOT NULL,
    "target_user_id" BIGINT,
    "target_generation_id" BIGINT,
    "detail" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* Audit trail of admin actions */;
CREATE INDEX IF NOT EXISTS "idx_admin_actio_admin_i_9798dd" ON "admin_actions" ("admin_id", "created_at");
CREATE TABLE IF NOT EXISTS "broadcasts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "admin_id" BIGINT NOT NULL,
    "text" TEXT NOT NULL,
    "photo_file_id" VARCHAR(255),
    "entities" TEXT,
    "active_days" INT,
    "status" VARCHAR(16) NOT NULL,
    "total" INT NOT NULL,
    "delivered" INT NOT NULL,
    "blocked" INT NOT NULL,
    "failed" INT NOT NULL,
    "progress_chat_id" BIGINT,
    "progress_message_id" BIGINT,
    "created_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "heartbeat_at" TIMESTAMP
) /* Admin broadcasts: content, audience, progress and outcome */;
CREATE TABLE IF NOT EXISTS "broadcast_deliveries" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "broadcast_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" VARCHAR(255),
    "at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_broadcast_d_broadca_86ea3c" UNIQUE ("broadcast_id", "user_id")
) /* Recipients of broadcasts and how each delivery ended */;
CREATE TABLE IF NOT EXISTS "feedback_messages" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "admin_chat_id" BIGINT NOT NULL,
    "admin_message_id" BIGINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_feedback_me_admin_c_a09b07" UNIQUE ("admin_chat_id", "admin_message_id")
) /* User feedback forwarded to the admins, for routing their replies */;
ALTER TABLE "generations" ADD "video_provider" VARCHAR(32);
ALTER TABLE "users" ADD "blocked_at" TIMESTAMP;
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
CREATE INDEX "idx_generations_created_79806d" ON "generations" ("created_at");
CREATE INDEX "idx_ledger_entr_reason_42cbfa" ON "ledger_entries" ("reason", "created_at");
CREATE INDEX "idx_users_created_43d91f" ON "users" ("created_at");
CREATE INDEX "idx_users_usernam_266d85" ON "users" ("username");
CREATE INDEX "idx_users_last_se_54f739" ON "users" ("last_seen_at");
COMMIT;
""",
    "postgres": """
CREATE TABLE IF NOT EXISTS "admin_actions" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "admin_id" BIGINT NOT NULL,
    "action" VARCHAR(32) NOT NULL,
    "target_user_id" BIGINT,
    "target_generation_id" BIGINT,
    "detail" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_admin_actio_admin_i_9798dd" ON "admin_actions" ("admin_id", "created_at");
COMMENT ON TABLE "admin_actions" IS 'Audit trail of admin actions';
CREATE TABLE IF NOT EXISTS "broadcasts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "admin_id" BIGINT NOT NULL,
    "text" TEXT NOT NULL,
    "photo_file_id" VARCHAR(255),
    "entities" TEXT,
    "active_days" INT,
    "status" VARCHAR(16) NOT NULL,
    "total" INT NOT NULL,
    "delivered" INT NOT NULL,
    "blocked" INT NOT NULL,
    "failed" INT NOT NULL,
    "progress_chat_id" BIGINT,
    "progress_message_id" BIGINT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "heartbeat_at" TIMESTAMPTZ
);
COMMENT ON TABLE "broadcasts" IS 'Admin broadcasts: content, audience, progress and outcome';
CREATE TABLE IF NOT EXISTS "broadcast_deliveries" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "broadcast_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" VARCHAR(255),
    "at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_broadcast_d_broadca_86ea3c" UNIQUE ("broadcast_id", "user_id")
);
COMMENT ON TABLE "broadcast_deliveries" IS 'Recipients of broadcasts and how each delivery ended';
CREATE TABLE IF NOT EXISTS "feedback_messages" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" BIGINT NOT NULL,
    "admin_chat_id" BIGINT NOT NULL,
    "admin_message_id" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_feedback_me_admin_c_a09b07" UNIQUE ("admin_chat_id", "admin_message_id")
);
COMMENT ON TABLE "feedback_messages" IS 'User feedback forwarded to the admins, for routing their replies';
ALTER TABLE "generations" ADD "video_provider" VARCHAR(32);
ALTER TABLE "users" ADD "blocked_at" TIMESTAMPTZ;
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS "idx_generations_created_79806d" ON "generations" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_reason_42cbfa" ON "ledger_entries" ("reason", "created_at");
CREATE INDEX IF NOT EXISTS "idx_users_created_43d91f" ON "users" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_users_usernam_266d85" ON "users" ("username");
CREATE INDEX IF NOT EXISTS "idx_users_last_se_54f739" ON "users" ("last_seen_at");
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
DROP INDEX IF EXISTS "idx_users_last_se_54f739";
DROP INDEX IF EXISTS "idx_users_usernam_266d85";
DROP INDEX IF EXISTS "idx_users_created_43d91f";
DROP INDEX IF EXISTS "idx_ledger_entr_reason_42cbfa";
DROP INDEX IF EXISTS "idx_generations_created_79806d";
ALTER TABLE "generations" DROP COLUMN "video_provider";
ALTER TABLE "users" DROP COLUMN "blocked_at";
ALTER TABLE "users" DROP COLUMN "updates_count";
DROP TABLE IF EXISTS "broadcasts";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "broadcast_deliveries";
DROP TABLE IF EXISTS "feedback_messages";
COMMIT;
""",
    "postgres": """
DROP INDEX IF EXISTS "idx_users_last_se_54f739";
DROP INDEX IF EXISTS "idx_users_usernam_266d85";
DROP INDEX IF EXISTS "idx_users_created_43d91f";
DROP INDEX IF EXISTS "idx_ledger_entr_reason_42cbfa";
DROP INDEX IF EXISTS "idx_generations_created_79806d";
ALTER TABLE "generations" DROP COLUMN "video_provider";
ALTER TABLE "users" DROP COLUMN "blocked_at";
ALTER TABLE "users" DROP COLUMN "updates_count";
DROP TABLE IF EXISTS "broadcasts";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "broadcast_deliveries";
DROP TABLE IF EXISTS "feedback_messages";
""",
}


def _script(scripts: dict[str, str], db: BaseDBAsyncClient) -> str:
    dialect = db.schema_generator.DIALECT
    if dialect not in scripts:
        raise RuntimeError(f"this migration has no SQL for {dialect!r}, only for {sorted(scripts)}")
    return scripts[dialect]


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _script(UPGRADE, db)


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _script(DOWNGRADE, db)


MODELS_STATE = (
    "eJztXVtz27YS/isYvTTpqBnHuR7nSXac1KeJnbGdttMkQ0MkJGFMASwA2dX05L8fLHi/Ka"
    "QiyTSDJ1vALkh+CwK7i93lv4M594gvH428OWUjV1HOBgfo3wHDc6L/qeoeogEOgrQTGhQe"
    "+4YeA6GDDaXpwWOphP6tOyfYl0Q3eUS6ggbRtQajhUcV0kTUR3yCzAgoM4LHXT0EZVMg/m"
    "OGFcIsovKohx5MBWZqiAS54dd6+DFm8EOJJfyZLJin2wTHnouleniA1IwgnF7yEVxiwejf"
    "C+IoPiW6W+gLffqimynzyD9Ews9P0ZNRD+hdQbAinoPV4AsQBtfOhBLfy0EXkpp2Ry0D03"
    "ZIpydMvTG08Ghjx+X+Ys5S+mCpZpwlDJQpaJ0SRgRcUrcpsQAU2cL3I9RjYMPHSEnC+8/w"
    "eGSCFz7IArjDG0jbBo5zenbpXBxfOs6gJKeYIyONqMnVggIsmZIGgCncwi//2d9/8uTF/t"
    "6T5y+fPX3x4tnLvZea1txvuevF1/BmUrTCoQxmJ29PTi/hhrieSOE0g4avhgcrHHIZMaXo"
    "Z8XVXAZZrm9LIsZ9lSjihlQW6WvQM2FkwE9Wijz0RzMsaoBPOAqw64e5j7DP8T+OT9hUzf"
    "TPJ/srEP19dH706+j8wZP9h3lYT6OefdOVB1hhoZcqZyGJaD3Hy7xrzfRoSekM4ncy0SMs"
    "I6j0La8rjdIIVibrysQjSu/rbRaflGN3i89gsJOl59neXoO1R1PVLj6mL49wRv0pofxa9y"
    "g6J9VI5zkLaHsR66P4n3u48K8A+/Lk/fHF5ej9Bxh+LuXfvsFrdHkMPfumdVloffC8IJdk"
    "EPTHyeWvCH6iv85Ojw2cXKqpMFdM6S7/GsA94YXiDuO3DvaymMTNcdNX0GYn1xmNChrG2L"
    "2+xcJzSj18n9fRlrvm+/NiC2Z4aoQEaMJ9RvbGYaywDyqMkbRzpSmSKP1N7RBjUqRcB0jL"
    "VhGwLcBeIMzVTIHgALHUNoiH+EK5PJymOSNlhOaaRD9ZaqlIwjyJFEf6kZcI9l75CmF0y8"
    "U1EVEvNVaMXMz1E2jjBQwdNObagCEeglegoaliDRJrkHR3gbwjPY38U7FXXerWGq0sou+F"
    "MbJqTzr+8zK3HcX7/oP3oz8f5rakd2enb2PyjJ5w9O7ssAB2MOMK1n6fVE73ej2sxLgW/F"
    "1TgnP62P6zZw30MU1Vq4+Zvjzgeo+iihLZZoZnefoA864nOTgsbojj4WUF7PXLeZ6rR0be"
    "/uOnL56+fPL8abKOJy2rlu/yUi0VVosKTOuXjZSjF8t1fsF4/LzBevG4aCakywV0FfZCrn"
    "CFeVzvoYjpd6d/7N2TuaptDv06C1Kxy9XCmeOxkBYhHfvcvW4FaIbDwlmEc4K1NtUGzZTB"
    "glkEMzb+HXeGVWtTroq7RwrAji26BM3I1bK+OPIDWImsKxHrFa4VyH33Chf0c7GemPOcGx"
    "Bzx167Pkl5QhmVs7XEXGC1cu6ynGdEv5NjvfyuIegir5V01yTdtdO816HtuxysOtVLiIaN"
    "TvecyKCOfJnfPuc7Jy4NKNEihnDD9LzPHOnN+C0i2J2haNQlInD+VjriO2MEiXggE7aYjv"
    "QI/SGoUoShn8dkwgX52QQdxmeCVMJ5nxoiyTWXlnC4LZpDQCIQIzfxieBnpm6pSw6ATN+X"
    "VNT30dUV9OnbuLpCeKI0LUauwHIGA7t8wWAsLFFoyA0R48pcD+Gpntd1Z4ifMoCGinAcH/"
    "TFHi92R9uuP14siq+5HIqc9phxbRNorXi87w3Es9AP7LHB9o8NiBBctME3YejD8eIOTnHb"
    "K+DWX2L17lV69xtCPBjpfah5VmndRZKVOvckIo5dpg0V7o96g0MxL9IKMTyZVlIVD5NxIM"
    "RJDqFDq7kLpScGtFP9iwR+pNYX4utgz/xJJip19ZjpNcHjfpAE42lGGHkJxFShKScSGbKI"
    "GQav15PDiKyMDz9syHiRrcbcIQ2hXmO2ytrd5QcV36G2AZHfe4RmxZBiue4BWhW3FYY9Pr"
    "PqYEfVwbdJjlmVJpjpXakEpplqDdW/36lHuDxAlAULJdMUiiFyNbbG6wpZD76qdLLeAPcB"
    "uoW8b62sUa30YY8gPhkaX+0EC6OzRYkUU66GCW0yvGlw9eNCxkbjhO/MVp/N9x6iT7HrwP"
    "xvc8E7spTWa3r6piZUzJ1rsmzjwCiwbcZLdLfiyPuI9l82cRLtv6z3EkFfISRS4Em1Vrci"
    "/zLD00Nf3ObTv33uYp+0gTjl6CHATaZx/SQuTeEJF/MqLawe3ZSjh+hu3pWsrTdQGWrM7x"
    "ULcoGvh2A/f9oA7OdPa8GGrjzYN5y6bROxsjwW5AYgg4I+FZCr21bJKHPa45JmSW8eBbWb"
    "zsH70BL0Kl4LeyPYw/sqg12faZhy9GIp2XWioQwIcWdtZ3ieqxfA72Jyh6jx6XRNvDOcdj"
    "1pA7kk+tJeRfzGG5/juoWlxFrAfAK893Cmr0D59dnHw3fH6MP58dHJxcnZad7BaTqhSTfo"
    "HQ7azo9H76ohv+XCk2vO8xyvnemNZrqLg8RrWvAEcu4TzGqMngxbAemx5tvW9I7dUlmsE1"
    "fVpmf14dnZu9zGeXhS3Bk/vj881mbmw/zsrjhGCeFypFq285CUGPs3rTdv99iouy27SqQi"
    "QTt4Q/r+Td7Ne1HhfKiMbe2ZTEzepzPujaVGh5WWqzLNV25uWbYdbm5Jy26Vtw1ucya41h"
    "EEy3Z1dot8/VsntnKqFcLWvrJoka+HcO81qjAKZPWA75VrjJpz/7bWSY6pf1hvJ+x84dHW"
    "QOeYLNCNgA4n5xpl8UqMFvBGgKvZYj5uO7NzTBboFjP7lnr6Es316QJXjwqvbEyrDiGaET"
    "qdtbFUimwW2jpo13E7lzjX9Dp3DOAtO51DjWGN3a/EaBflZu5mG0/e13hyW47pR5OyLcf0"
    "Y8gZK0XmgWpVUjrDcoclO/e6o9rZmlY/yusSquKB4PBPq+IUZc7+qZWbPzGzKdM7zWkq5Q"
    "3mJVFhtXKhjX72G1kaUZzo+8bMrYpmiJL+PkbD3DMRfI3nWNyavooC3yb5d9mpp59dPzGJ"
    "7dOLy/OTI41xfSZm/gy+KmonYnvz2znxk8TJapzT5MqL6IC+J4h/3U3CqkFtZdJqjGuTxF"
    "Unkei3s1c/0ID4lBFkeMJKf+lIB5BRCmmtJs803k6QIFpoUiHqlYuXnEVjFYf6SaIguhak"
    "u5q8VMhijfX3of4ho8sNTc5rfDlTzyS+4KPP7DMbhVegEl1diQVjYbXAieBzM8iECsiMDR"
    "XHV0ATsutXRZNprtuofmFYvjCbYHuLzV0whD+z+PpRJcOIIi1oOKfeL0CPAu77Uo+CVXqj"
    "eh4R7AEIAV5CyRco/4IZN4/NWe3Hzj5l5Ri+2ibmxRZd6cy2NUT1qbg7jWfq2iK6bfXMRu"
    "NtORovXSfbgJzn6p+dsa0QkHCvKyNdn2qUcvQB5V1nGt1f51NHzxhtycztLxIdOv/o2m7Y"
    "J0+fPQD5MeRcMu6aG2olVutt3JS3MYV2Az7HfKGxeyaOpp7H0mTM+R+PRhdHo9fHq9yP2/"
    "SrvSPelIhjpqq/xJHtHq7yqPmG0CGasvHXN47NRzXm/IbMoy9nuALKMVQ7yiroXsG3MCTC"
    "gkSfylgEsHR7iAsUIuytU+IN6vZCObc0NcIWduvEsjRc4U3S8la4hbmS0Pdpa9hgDlfbbK"
    "LvzCPqHKBb9s9RTxvLXBHmLtuGpVew2nqETTK3xtgHdcQxn0pqsVSU+OySUbFkMD0l20zj"
    "mL5//o2txPAKMmm3HE/6Ce7mCxfY6Oha6PvkTrABS11xIdiApW0HLG3TY/AhCvU4wr4/qH"
    "AZ5PqHq3wGcdCI42rSpjE4mGaCawzjAUqjT8xVhkjLOorDIVIvvcYn8PHidaVfIYARYSD4"
    "5g9mEFYj9WDpRZKy8XEd+QeaKh734YEJieEBTEEu5E8hSegOMQE457GLgjN/ifSCRbxH6O"
    "oq9QqFcTaSKBP3Yh4pLGxvwmDCqvdDzQETAkJ38kS3M+oTCMGBbnSLzUjmw0lcP9wi0HeL"
    "FL7WUGLkc36NwHPy8BUaczUzt3VNAgVBRsw8SHpb4EQxY8JHkepDcLJxs5nT7WIMzqdS4f"
    "y8W8y6VbrpVlknoPq7Q6m7tmRv2xlgVq02CCcMPYR3K6a/2RAqdI761N6EwxaSbJLTC3C1"
    "mcExfR8n8MZjzRbSc+bUFbwq9Hyl9ZLlswZMy13RBvvdxUp9F2Z612C+k0l+5/EWVgqgPC"
    "9EwGUrT3qGpYfb6RaKfVqHb18dviWv4934yIxrssI3Frss631isJM1dIVdEp9MBZ6jhKfw"
    "ZewcAeR2xTld4OjJdUKyWI2H55t+HB9rFUcSwpIWGNE8+O6dOt0/5u6EVyeRUItdJsvTP1"
    "1288eKJrPSaYtynmt32/lgcH9NBvsJxG1+AtHkRjgBXvoctzJ/S4x21bDBCD+wbpp3KE2p"
    "VESsJekSs81j6bKscwpyS1EXee1r3WlRU+mMMWOtv32R47Mfv2jx8YuxVuWu11pF85x2Ce"
    "3yexXm9UgtvQVrU/26xGerIpqpHwa0twAyw2Fz+yvDG+sdjVUnLBurIXZ/N/xy/bCc0lTK"
    "J1wfrUISY1/g2qYDe0QEdWeDChd21DNc5cTGKc23vNj1MHzbF93Ku/yjxAt+5yZR7zO+IU"
    "JWZn2vqKyasvTQz7adTzAFrWqiReQ9RPdx0xoxq0rElD/zyBSp0iD/e3F2WuNWS1mKNgJ1"
    "Ffof8qm8j4FUK8AFMHKWQamiVLF4VEHlhwEO2ylJm9/Mvv4f1qg31w=="
)
