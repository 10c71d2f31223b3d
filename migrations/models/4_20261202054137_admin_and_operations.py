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
    "finished_at" TIMESTAMP
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
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
ALTER TABLE "users" ADD "blocked_at" TIMESTAMP;
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
    "finished_at" TIMESTAMPTZ
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
ALTER TABLE "users" ADD "updates_count" INT NOT NULL DEFAULT 0;
ALTER TABLE "users" ADD "blocked_at" TIMESTAMPTZ;
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
ALTER TABLE "users" DROP COLUMN "updates_count";
ALTER TABLE "users" DROP COLUMN "blocked_at";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "feedback_messages";
DROP TABLE IF EXISTS "broadcast_deliveries";
DROP TABLE IF EXISTS "broadcasts";
COMMIT;
""",
    "postgres": """
DROP INDEX IF EXISTS "idx_users_last_se_54f739";
DROP INDEX IF EXISTS "idx_users_usernam_266d85";
DROP INDEX IF EXISTS "idx_users_created_43d91f";
DROP INDEX IF EXISTS "idx_ledger_entr_reason_42cbfa";
DROP INDEX IF EXISTS "idx_generations_created_79806d";
ALTER TABLE "users" DROP COLUMN "updates_count";
ALTER TABLE "users" DROP COLUMN "blocked_at";
DROP TABLE IF EXISTS "admin_actions";
DROP TABLE IF EXISTS "feedback_messages";
DROP TABLE IF EXISTS "broadcast_deliveries";
DROP TABLE IF EXISTS "broadcasts";
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
    "w1OXftvOF1aBEtB6vOHRKiYaPzBycysyhpeBJxTlwaUKJFDAFR6YmEOXSY8VtEsDtD0ahL"
    "ROCEoHQIccYIEvFAJrAqHekR+kNQpQhDP4/JhAvyswmLik8tqIQTCTVEkmsuLeFwsTTHFE"
    "QgRm7iM4vPTN1SlxwAmb4vqajvo6sr6NO3cXWF8ERpWoxcgeUMBnb5gsFYWKJQvR8ixpW5"
    "HsJTPa/rTjk+ZQAN1aM4guGLPQDpjg5WfwBSFF9zORQ57UHI2orxWhFD3xsqZKEfWGfy9p"
    "3JRAgu2uCbMNhzpmbnTK31b2tFW717ld79hhAPRnofap5VWneRZKXOPYmIY0daQ4X7o97g"
    "UMyLtEIMT6aVVMXDdAEIwpBD6NBq7kLpiQHtVP8igR+p9YUIINgzf5KJSl09ZnpN8MMeJO"
    "FCmhFGXgIxVWjKiUSGLGKGwev15DBmJOPZDRsyvkWrMXdIQ6jXmK2ydncZDMV3qG3I1vce"
    "rFgxpFiue6xSxW2FYQ9VrDrYUXXwbZIFU6UJZnpXKoFpLk1D9e936hEuDxBlwULJNMh7iF"
    "yNrfG6Qly2ryqdrDfAfYBuITNVK2tUK33YI4hPhsZXO8HC6GxRqPeUq2FCmwxvGlz9uBBT"
    "3jglNbPVZzNSh+hT7Dow/9ts1Y4spfWanr6pCRVz55os2zgwCmyb8RLdrTjyPqL9l02cRP"
    "sv671E0FcIlBN4Uq3VrcgQy/D00Be3+QRVn7vYJ20gTjl6CHCTaVw/iUtTeMLFvEoLq0c3"
    "5eghupt3JWvrDVSGGvN7xYJc4Osh2M+fNgD7+dNasKErD/YNp27bVJEsjwW5AcigoE8FZB"
    "O2VTLKnPa4pNFxCfEoqN10Dt6HlqBX8VrYG8Ee3lcZ7Ppsv5SjF0vJrvP9ZECIO2s7w/Nc"
    "vQB+F5M7RI1Pp2vineG060kbyCXRl/Yq4jfe+BzXLSwl1gLmE+C9hzN9Bcqvzz4evjtGH8"
    "6Pj04uTs5O8w5O0wlNukHvcNB2fjx6Vw35LReeXHOe53jtTG80010cJF7TgieQc59gVmP0"
    "ZNgKSI8137amd+yWymKduKo2PasPz87e5TbOw5Pizvjx/eGxNjMf5md3xTFKCJcj1bKdh6"
    "TE2L9pvXm7x0bdbdlVIhUJ2sEb0vdv8m7eiwrnQ2Vsa89kYvI+nXFvLGE2rAVblX+8cnPL"
    "su1wc0tadqu8bXCbM8G1jiBYtqsEWuTr3zqxlVOtELb2tQ+LfD2Ee69RDUQgqwd8r1wF0Z"
    "z7t7VOckz9w3o7YecLj7YGOsdkgW4EdDg51yjcVWK0gDcCXM0W83HbmZ1jskC3mNm31NOX"
    "aK5PF7h6VI5jY1p1CNGM0OmsjaVSZLPQ1kG7jtu5xLmm17ljAG/Z6RxqDGvsfiVGuyg3cz"
    "fbePK+xpPbIj0/mpRtkZ4fQ85YKTIPVKtCwxmWOyzkuNcd1W5G9MI21nvYGm9Lkde+Ll1+"
    "XWwK705zbEp5bHlJVFhRXGgjlP1GlkYUJ/q+MXOrTtejJLSP0TD3TARf4zkWt6avvcC3ST"
    "5YdurpZ9dPTGJ76eLy/ORIY1yfGZg/E66KIonY3vx2Tvwkka8a5zTZ7yI6MO4J4l93k0Bp"
    "UFuZRBnj2iSR0kkk+u1syg80ID5lBBmesPJcOtIBZDhCmqXJewwEB2cFFNLQQpMKUa9cTO"
    "MsGqs41E8SBdG1IP3S5ElCVmWsTw71DxldbmhyMOPLmfoa8QUffWaf2Si8ApXo6kosGAur"
    "100En5tBJlRApmaoyLwCmpBdvyqaTHPdRvX0wnJ62YTPW2zugiH8mcXXjyrrRRRpgb059X"
    "4BehRw35d6FKzSG9XziGAPQAjwEkqQQDkSzLh5bM5qPw/0KSvH8NU2MRi2CEhntq0hqk8N"
    "3Wl8TdcW0W0H2NjosC1Hh6XrZBuQ81z9c6duKyQh3OvKSNenvqQcfUB515kv99cZ0tEzL1"
    "vCcfuLRIf88V3bDfvkebIO+R9Dzt/x7fHNfHS8ay9xJ7yNKbQb8DnmC1/dM3E09TyWJmPO"
    "/3g0ujgavT5e5X7cpl/tHfGmRBwzVf1liGz3cJVHzTeEDtGUjb8GcWw+8jDnN2QefcnBFV"
    "AeoNpRVkH3Cr7NIBEWJPp0wyKApdtDXKAQYW+dkmNQRxbKi6Wh+rbQWCeWpeEKb5KWt8It"
    "zJWEvk9bwwZzitpmt3xnXkvnAN2yf4562ljmijB32TZMuoLV1sdrkkk0xj6oI475dE+Lpa"
    "LEZ5eMiiWD6SnZZhrH9P3zb2wlplSQSbvleNJPcDefSG+jdWuh75M7wQYsdcWFYAOWth2w"
    "tE2PwYco1OMI+/6gwmWQ6x+u8hnEQSOOq0mbxuBgmgmuMYwHKI0+MVcZIi3rKA6HSL30Gp"
    "/Ax4vXlX6FAEaEgeAbNJhBWI3Ug6UXScqYx3XNH2iqeNyHByYkhgcwBbmQP4UkoTvEBOCc"
    "xy4Kzvwl0gsW8R6hq6vUKxTG2UiiTNyLeaSw0LoJgwmrsA81B0wICN3JE93OqE8gBAe60S"
    "02I5kP+XD9cItA3y1S+FpDiZHP+TUCz8nDV2jM1czc1jUJFAQZMfMg6W2BE8WMCR/pqQ/B"
    "iWECgszpdjEG51OpkHveLWbdKt10q2TF21T3zPJYZ0ADZ4BZtdognDD0EN6tmP5mQ6jQOe"
    "pTTRMOW9iwSY4pwNVmBsf0fZzAG481W0jPmVNX8KrQ85XWS5bPGjAtd0Ub7HcXK/VdmOld"
    "g/lOJvmdx1tYKYDyvBABl6086RmWHm6nWyg+aR2+fXX4lryOd+MjM67JCt9Y7LKs94nBTt"
    "bQFXZJfDIVeI4SnsKXmnMEkNsV53SBoyfXCcliNR6eb/pxfKxVHEkIS1pgRPPgu3fqdP+Y"
    "uxNenURCLXaZLE//dNnNHyuazEqnLcp5rt1t54PB/TUZ7Cf5tvlJPpMb4QR46XPcyvwtMd"
    "pVwwYj/MC6ad6hNKVSEbGWpEvMNo+ly7LOKcgtRV3kta91p0VNpTPGjLX+FkOOz36MocXH"
    "GMZalbteaxXNc9oltMvvVZjXI7X0FqxNNeYSn63SZ6Z+GNDeAsgMh83trwxvrHc0Vp2wbK"
    "yG2P3d8Mv1w3JKUymfcH20CkmMfYFrmw7sERHUnQ0qXNhRz3CVExunNN/yYtfD8G1fdCvv"
    "8o8SL/idm0S9z/iGCFmZ9b3i6ykpSw/9bNv5JFDQqiZaRN5DdB83rRGzqkRM+bODTJEqDf"
    "K/F2enNW61lKVoI1BXof8hn8r7GEi1AlwAI2cZlCpKFYtHFVR+GOCwnZK0+c3s6/8B396u"
    "4w=="
)
