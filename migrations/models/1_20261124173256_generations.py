"""Migration 'generations': written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    "sqlite": """
BEGIN;
CREATE TABLE IF NOT EXISTS "generations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "confirm_key" VARCHAR(128) NOT NULL UNIQUE,
    "draft_id" VARCHAR(32) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "format" VARCHAR(16) NOT NULL,
    "character_id" VARCHAR(64) NOT NULL,
    "voice_id" VARCHAR(64) NOT NULL,
    "background_key" VARCHAR(255),
    "edited_image_key" VARCHAR(255),
    "script" TEXT NOT NULL,
    "speech_key" VARCHAR(255) NOT NULL,
    "speech_ogg_key" VARCHAR(255),
    "speech_seconds" REAL NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "step" VARCHAR(32),
    "cost" INT NOT NULL,
    "refunded" INT NOT NULL,
    "error_reason" VARCHAR(128),
    "error_detail" VARCHAR(1000),
    "video_key" VARCHAR(255),
    "audio_key" VARCHAR(255),
    "video_file_id" VARCHAR(255),
    "audio_file_id" VARCHAR(255),
    "created_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
) /* Videos: inputs, progress, cost and result */;
CREATE INDEX IF NOT EXISTS "idx_generations_user_id_a0421b" ON "generations" ("user_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_generations_status_b2f1aa" ON "generations" ("status");
COMMIT;
""",
    "postgres": """
CREATE TABLE IF NOT EXISTS "generations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "confirm_key" VARCHAR(128) NOT NULL UNIQUE,
    "draft_id" VARCHAR(32) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "format" VARCHAR(16) NOT NULL,
    "character_id" VARCHAR(64) NOT NULL,
    "voice_id" VARCHAR(64) NOT NULL,
    "background_key" VARCHAR(255),
    "edited_image_key" VARCHAR(255),
    "script" TEXT NOT NULL,
    "speech_key" VARCHAR(255) NOT NULL,
    "speech_ogg_key" VARCHAR(255),
    "speech_seconds" DOUBLE PRECISION NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "step" VARCHAR(32),
    "cost" INT NOT NULL,
    "refunded" BOOL NOT NULL,
    "error_reason" VARCHAR(128),
    "error_detail" VARCHAR(1000),
    "video_key" VARCHAR(255),
    "audio_key" VARCHAR(255),
    "video_file_id" VARCHAR(255),
    "audio_file_id" VARCHAR(255),
    "created_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_generations_user_id_a0421b" ON "generations" ("user_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_generations_status_b2f1aa" ON "generations" ("status");
COMMENT ON TABLE "generations" IS 'Videos: inputs, progress, cost and result';
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
DROP TABLE IF EXISTS "generations";
COMMIT;
""",
    "postgres": """
DROP TABLE IF EXISTS "generations";
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
    "eJztnNtu2zgQhl+F0FULZIvEOW565aRu620SF4nbLVoUCiONZCIS6aXopEY3776kzkdXcm"
    "3D0QooCpucX5a+YWjy18g/NZeZ4Hiv3gEFjgVhVDtFPzWKXZAvSnp3kIan06RPNQh85/jh"
    "dhznt+M7T3BsCNllYccD2WSCZ3AyDT9I+0xMYN4pInQ6E94OmnJmc/DkK4N5AmFqIvl25g"
    "h1OJMZ8niE2ko5ooAelPoUPU6wQET+85CLTUDM2kET9ig/kyMxAfTI+D1wZDOxE8fGh/cb"
    "DHm5iM3EK/UxM0r+mYEumA1SzeWHffsumwk14Qd46u03beYB14mpwg0OWICpY6HJsG+aJ7"
    "CYedp3pZne6xYBx8wwDWR+uy7mU7/tjNhDKt76sepK73SDOTOXJvHTuZgwGgsI9ZGEwEF9"
    "guAzRZjOHCfMRwQ9uKIkJLiUlMYECyvIp0ipgxNI2jRdvxqN9ZvBWNe1Qg4jRSo5YZMhh4"
    "HMvzxVzwdgq1P4489eb3//uLe7f3RyeHB8fHiyeyJj/fMtdh0/BSeT0AoO5TMbvhtejdUJ"
    "MTnIggGoGp58DRY4UPkZS+jLk7IId/V7mBfTcD7BvDwJOVkuG/Iy89mI2G9vOlz8Q3eA2m"
    "Ii3+71Thag/ty/Pn/fv34ho15mgV+FXb2gT7FPWJscW0IvG+/VoNOa1VCOGhLMyWS0cc77"
    "vRqY93uVlFVXFrLDDCyjGiBOFC0EXGcYVw/iwhC2GHexaEI3UbSQ7t5RnVniqHqSOMoDNi"
    "RIuUSIv05rT8g5XQthHx3UgH10UAlbdWVhPzBiQEPQaU0HuQbkO2zc25zNqNl0kVFULgU8"
    "XEVsJ+/e4WEN4DKqkrjfl0UOJlFLcOJiG5pCL9N22GthD86rCHsMPyr2MomiFVPJAqTjwR"
    "d/b+J63j9OmuSLy/4XH7I7D3suRlfvovAU+fOL0Vke+BTAmDQd4VlVK8BvYnAH1JhtL8k7"
    "pezmkybIPZAfbXpF5G8dhqsmloI0x9xS2mc40hdQfjP6dHYxQB+vB+fDm+HoKjOpBJ2qST"
    "bIbzjVdj3oX+SRB25Vk9EdK1o4k6x+f+MJmDbDG8S3b8pYvfWhTNwi20ojNQr/tZX6HMZt"
    "4Kb29g6OD072jw5iEzVuWeSdRj5pwpKDJfcdUOZNM+YApuVM07Ic1zupWxfYuGWzM+7ZaH"
    "SRWdSdDfOrtk+XZwM5RbzMzrxF3sA54zoH7AU3VWpvV3K69s0Ta7GiA2wmCEyc5rgTXQtx"
    "7+7u1uEtw6qB+505r0ndnGu6dM6I2sd6LatmPDNJY9AZUQe6FuhgcFrEaWyh5oUd8AYjew"
    "ngBWEHvBbwVC1DgfYb2SOICxVr64wyh9sMpa+iF89wvb3I6hteDm7G/cuPmaXhm/54oHp6"
    "2W152Poiv4eMD4L+Ho7fI/UWfR1d+Tv4qdy4qLKYTNz4q6bOCc8E0yl71LGZZhI1R035TT"
    "9fLs1Z5QrSvGV/Y23KskUo8SZLpTkn7fK8zXlO1aLVLypLidpkh2yguEzV9Vn3pbVlCmqJ"
    "a804EJt+gLmfiqE8b0yNsvqbsNryU3iYZ5aCp2iMRa3Jnz3Hj3EhZHroyWuXVwyRO30zvh"
    "6eS8YKsboX/oi5qWdYqx7WY7mWOLbY5fbcfAum2PbpqMtQJx1ivwDTBj6ggs+1khrYdPfO"
    "oiJYxw/UQUYSqFkHO3gAPkcuewBX6hCzkFxQmUT48kLda0nca8TZo4cwB0RBHgzNpmp2Nh"
    "HjKEBsLlPcKv/vClm3s5BVZlXgBu53HN+m+X6F9ndTI/Y3LditA7rmezXEBHfKBFBj3tSr"
    "KpF29dd1TO877KiVho4tUbYwqZwqCrpuyiiZMqgckk2GcRTfeVG1vCgOVrPp2Gon3NUXqH"
    "YuXyX6zhfofIHOF+h8gbQv4GMvMQSidFQ7AeqKahoAY3m5NscuijWZXX8fZQJeo9tbYt7e"
    "qkde1ROumU5E6m71N76z3/5F+VZs7VUW/dcN1j9pTbcI+vUiyCLcE3pTylnV5jb+mrYRzG"
    "vZhXYPqK7zAVX/jqw+xXOH4UY1EgVhN2t0W6du6xR6DzbxBPClMl0Qd7fPtznXDpbf6B4A"
    "XSLVeW33Z73VqSaefocpbfyQQ0bXPeXQ4CmH8E5C83sPmzWgdte1HFnBLYeCr1TtgiTccz"
    "/ElRvrofjth2tw4l/1Kvecsr/89TznroLzlJ3/C+Uay9PK1Yi0Bdc63bU+cGJMtBJ/LezZ"
    "WeSw4STmVxZbNYYVG2X/l/qX37yRWm1/PQD3SLNijJSkhZbBeh6umDZ6LjkMbyHdvbrPvy"
    "16/K34aDIVQEs2FH/djK4qHIJEkt9HEEOgf5FDvOd4C24BXAUjs9Is/EhK/vdQdrK7AnWA"
    "s2aLpNV/mT39B5aPL00="
)
