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
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
ALTER TABLE "users" ADD "blocked_at" TIMESTAMP;
CREATE INDEX "idx_generations_created_79806d" ON "generations" ("created_at");
CREATE INDEX "idx_ledger_entr_reason_42cbfa" ON "ledger_entries" ("reason", "created_at");
CREATE INDEX "idx_users_created_43d91f" ON "users" ("created_at");
CREATE INDEX "idx_users_last_se_54f739" ON "users" ("last_seen_at");
CREATE INDEX "idx_users_usernam_266d85" ON "users" ("username");
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
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
ALTER TABLE "users" ADD "blocked_at" TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS "idx_generations_created_79806d" ON "generations" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_reason_42cbfa" ON "ledger_entries" ("reason", "created_at");
CREATE INDEX IF NOT EXISTS "idx_users_created_43d91f" ON "users" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_users_last_se_54f739" ON "users" ("last_seen_at");
CREATE INDEX IF NOT EXISTS "idx_users_usernam_266d85" ON "users" ("username");
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
DROP INDEX IF EXISTS "idx_users_usernam_266d85";
DROP INDEX IF EXISTS "idx_users_last_se_54f739";
DROP INDEX IF EXISTS "idx_users_created_43d91f";
DROP INDEX IF EXISTS "idx_ledger_entr_reason_42cbfa";
DROP INDEX IF EXISTS "idx_generations_created_79806d";
ALTER TABLE "generations" DROP COLUMN "video_provider";
ALTER TABLE "users" DROP COLUMN "updates_count";
ALTER TABLE "users" DROP COLUMN "blocked_at";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "feedback_messages";
DROP TABLE IF EXISTS "broadcasts";
DROP TABLE IF EXISTS "broadcast_deliveries";
COMMIT;
""",
    "postgres": """
DROP INDEX IF EXISTS "idx_users_usernam_266d85";
DROP INDEX IF EXISTS "idx_users_last_se_54f739";
DROP INDEX IF EXISTS "idx_users_created_43d91f";
DROP INDEX IF EXISTS "idx_ledger_entr_reason_42cbfa";
DROP INDEX IF EXISTS "idx_generations_created_79806d";
ALTER TABLE "generations" DROP COLUMN "video_provider";
ALTER TABLE "users" DROP COLUMN "updates_count";
ALTER TABLE "users" DROP COLUMN "blocked_at";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "feedback_messages";
DROP TABLE IF EXISTS "broadcasts";
DROP TABLE IF EXISTS "broadcast_deliveries";
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
    "1TgnP62P6zZw30MU1Vq4+ZvrK5fUMcDy9lGe76pSXP1SODY//x0xdPXz55/jRZU5KWVUtJ"
    "edmQCqtFBab1Uzjl6MXSkZ+8j583mLuPiyprOnWhq7Auc4UrTLV6azmm391euHdP5qrWf/"
    "XrLEjFilsLZ47HQlqEdOxz97oVoBkOC2cRzgnWO3sbNFMGC2YRzNgQddwZVq3NiiruHikA"
    "O7YuEjQjs399ceQHsBJZVyLWQ1krkPvuoSzo52I9Mec5NyDmjr12fZLyhDIqZ2uJucBq5d"
    "xlOc+IfifHevldQ9BFXivprkm6aydLr0PbdzlYdcKUEA0bnTQ5kUFNScMzp3Pi0oASLWII"
    "fUvPnszx0ozfIoLdGYpGXSICZ0Gl46YzRpCIBzIhdOlIj9AfgipFGPp5TCZckJ9NAFx8Pk"
    "UlnD2pIZJcc2kJh9uiOZAiAjFyE59OfWbqlrrkAMj0fUlFfR9dXUGfvo2rK4QnStNi5Aos"
    "ZzCwyxcMxsIShYbcEDGuzPUQnup5XXee9SkDaKgIx7EqX+xRV3e07fqjrqL4msuhyGmPvN"
    "Y2gdaKDfveoDAL/cAeG2z/2IAIwUUbfBMGe6LY7ESxtQJu/SVW716ld78hxIOR3oeaZ5XW"
    "XSRZqXNPIuLYZdpQ4f6oNzgU8yKtEMOTaSVV8TAxBMJt5BA6tJq7UHpiQDvVv0jgR2p9Id"
    "YL9syfZKJSV4+ZXhM87gdJYJhmhJGXQEwVmnIikSGLmGHwej05jA7K+PDDhowX2WrMHdIQ"
    "6jVmq6zdXa5K8R1qG5z3vUdoVgwpluseoFVxW2HY4zOrDnZUHXyb5DtVaYKZ3pVKYJo11V"
    "D9+516hMsDRFmwUDIN5x8iV2NrvK4Qge+rSifrDXAfoFvIQdbKGtVKH/YI4pOh8dVOsDA6"
    "WxTUP+VqmNAmw5sGVz8uZA80Tj7ObPXZ3OMh+hS7Dsz/Ni+5I0tpvaanb2pCxdy5Jss2Do"
    "wC22a8RHcrjryPaP9lEyfR/st6LxH0FUIiBZ5Ua3UrcgEzPD30xW0+FdnnLvZJG4hTjh4C"
    "3GQa10/i0hSecDGv0sLq0U05eoju5l3J2noDlaHG/F6xIBf4egj286cNwH7+tBZs6MqDfc"
    "Op2zYpKMtjQW4AMijoUwF5o22VjDKnPS5pdFxCPApqN52D96El6FW8FvZGsIf3VQa7Pq8z"
    "5ejFUrLrzE4ZEOLO2s7wPFcvgN/F5A5R49PpmnhnOO160gZySfSlvYr4jTc+x3ULS4m1gP"
    "kEeO/hTF+B8uuzj4fvjtGH8+Ojk4uTs9O8g9N0QpNu0DsctJ0fj95VQ37LhSfXnOc5XjvT"
    "G810FweJ17TgCeTcJ5jVGD0ZtgLSY823rekdu6WyWCeuqk3P6sOzs3e5jfPwpLgzfnx/eK"
    "zNzIf52V1xjBLC5Ui1bOchKTH2b1pv3u6xUXdbdpVIRYJ28Ib0/Zu8m/eiwvlQGdvaM5mY"
    "vE9n3BtLjQ6r/lZlmq/c3LJsO9zckpbdKm8b3OZMcK0jCJbtar4W+fq3TmzlVCuErX2Vyy"
    "JfD+Hea1TtEsjqAd8r17s05/5trZMcU/+w3k7Y+cKjrYHOMVmgGwEdTs41SrSVGC3gjQBX"
    "s8V83HZm55gs0C1m9i319CWa69MFrh4VXtmYVh1CNCN0OmtjqRTZLLR10K7jdi5xrul17h"
    "jAW3Y6hxrDGrtfidEuys3czTaevK/x5LYc048mZVuO6ceQM1aKzAPVqqR0huUOS3budUe1"
    "szWtfpTXJVTFA8Hhn1bFKcqc/VMrN39iZlOmd5rTVMobzEuiwmrlQhv97DeyNKI40feNmV"
    "sVzRAl/X2MhrlnIvgaz7G4NX0VBb5N8u+yU08/u35iEtunF5fnJ0ca4/pMzPwZfFXUTsT2"
    "5rdz4ieJk9U4p8mVF9EBfU8Q/7qbhFWD2sqk1RjXJomrTiLRb2evfqAB8SkjyPCElf7SkQ"
    "4goxTSWk2eabydIEG00KRC1CsXLzmLxioO9ZNEQXQtSHc1eamQxRrr70P9Q0aXG5qc1/hy"
    "pp5JfMFHn9lnNgqvQCW6uhILxsJqgRPB52aQCRWQGRsqjq+AJmTXr4om01y3Uf3CsHxhNs"
    "H2Fpu7YAh/ZvH1o0qGEUVa0HBOvV+AHgXc96UeBav0RvU8ItgDEAK8hJIvUP4FM24em7Pa"
    "D299ysoxfLVNzIstutKZbWuI6lNxdxrP1LVFdNvqmY3G23I0XrpOtgE5z9U/O2NbISDhXl"
    "dGuj7VKOXoA8q7zjS6v86njp4x2pKZ218kOnT+0bXdsE+ePnsA8mPIuWTcNTfUSqzW27gp"
    "b2MK7QZ8jvlCY/dMHE09j6XJmPM/Ho0ujkavj1e5H7fpV3tHvCkRx0xVf4kj2z1c5VHzDa"
    "FDNGXjr28cm49qzPkNmUdfznAFlGOodpRV0L2Cb2FIhAWJPpWxCGDp9hAXKETYW6fEG9Tt"
    "hXJuaWqELezWiWVpuMKbpOWtcAtzJaHv09awwRyuttlE35lH1DlAt+yfo542lrkizF22DU"
    "uvYLX1CJtkbo2xD+qIYz6V1GKpKPHZJaNiyWB6SraZxjF9//wbW4nhFWTSbjme9BPczRcu"
    "sNHRtdD3yZ1gA5a64kKwAUvbDljapsfgQxTqcYR9f1DhMsj1D1f5DOKgEcfVpE1jcDDNBN"
    "cYxgOURp+YqwyRlnUUh0OkXnqNT+DjxetKv0IAI8JA8M0fzCCsRurB0oskZePjOvIPNFU8"
    "7sMDExLDA5iCXMifQpLQHWICcM5jFwVn/hLpBYt4j9DVVeoVCuNsJFEm7sU8UljY3oTBhF"
    "Xvh5oDJgSE7uSJbmfUJxCCA93oFpuRzIeTuH64RaDvFil8raHEyOf8GoHn5OErNOZqZm7r"
    "mgQKgoyYeZD0tsCJYsaEjyLVh+Bk42Yzp9vFGJxPpcL5ebeYdat0062yTkD1d4dSd23J3r"
    "YzwKxabRBOGHoI71ZMf7MhVOgc9am9CYctJNkkpxfgajODY/o+TuCNx5otpOfMqSt4Vej5"
    "Susly2cNmJa7og32u4uV+i7M9K7BfCeT/M7jLawUQHleiIDLVp70DEsPt9MtFPu0Dt++On"
    "xLXse78ZEZ12SFbyx2Wdb7xGAna+gKuyQ+mQo8RwlP4cvYOQLI7YpzusDRk+uEZLEaD883"
    "/Tg+1iqOJIQlLTCiefDdO3W6f8zdCa9OIqEWu0yWp3+67OaPFU1mpdMW5TzX7rbzweD+mg"
    "z2E4jb/ASiyY1wArz0OW5l/pYY7aphgxF+YN0071CaUqmIWEvSJWabx9JlWecU5JaiLvLa"
    "17rToqbSGWPGWn/7IsdnP37R4uMXY63KXa+1iuY57RLa5fcqzOuRWnoL1qb6dYnPVkU0Uz"
    "8MaG8BZIbD5vZXhjfWOxqrTlg2VkPs/m745fphOaWplE+4PlqFJMa+wLVNB/aICOrOBhUu"
    "7KhnuMqJjVOab3mx62H4ti+6lXf5R4kX/M5Not5nfEOErMz6XlFZNWXpoZ9tO59gClrVRI"
    "vIe4ju46Y1YlaViCl/5pEpUqVB/vfi7LTGrZayFG0E6ir0P+RTeR8DqVaAC2DkLINSRali"
    "8aiCyg8DHLZTkja/mX39PznJwcc="
)
