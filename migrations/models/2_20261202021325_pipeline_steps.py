"""Migration 'pipeline_steps': written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    "sqlite": """
BEGIN;
CREATE TABLE IF NOT EXISTS "generation_steps" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "step" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "request_id" VARCHAR(1000),
    "output" TEXT,
    "attempts" INT NOT NULL,
    "error" VARCHAR(1000),
    "started_at" TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP,
    "generation_id" BIGINT NOT NULL REFERENCES "generations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_generation__generat_7aa31c" UNIQUE ("generation_id", "step")
) /* Pipeline steps of a generation: outputs and provider request ids */;
ALTER TABLE "generations" ADD "video_height" INT;
ALTER TABLE "generations" ADD "video_seconds" REAL;
ALTER TABLE "generations" ADD "heartbeat_at" TIMESTAMP;
ALTER TABLE "generations" ADD "thumb_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_width" INT;
ALTER TABLE "generations" ADD "captions" INT NOT NULL DEFAULT 1;
ALTER TABLE "generations" ADD "caption_style" VARCHAR(64);
ALTER TABLE "generations" ADD "speech_words_key" VARCHAR(255);
ALTER TABLE "generations" ADD "attempts" INT NOT NULL DEFAULT 0;
COMMIT;
""",
    "postgres": """
CREATE TABLE IF NOT EXISTS "generation_steps" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "step" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "request_id" VARCHAR(1000),
    "output" TEXT,
    "attempts" INT NOT NULL,
    "error" VARCHAR(1000),
    "started_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "generation_id" BIGINT NOT NULL REFERENCES "generations" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_generation__generat_7aa31c" UNIQUE ("generation_id", "step")
);
COMMENT ON TABLE "generation_steps" IS 'Pipeline steps of a generation: outputs and provider request ids';
ALTER TABLE "generations" ADD "video_height" INT;
ALTER TABLE "generations" ADD "video_seconds" DOUBLE PRECISION;
ALTER TABLE "generations" ADD "heartbeat_at" TIMESTAMPTZ;
ALTER TABLE "generations" ADD "thumb_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_width" INT;
ALTER TABLE "generations" ADD "captions" BOOL NOT NULL DEFAULT True;
ALTER TABLE "generations" ADD "caption_style" VARCHAR(64);
ALTER TABLE "generations" ADD "speech_words_key" VARCHAR(255);
ALTER TABLE "generations" ADD "attempts" INT NOT NULL DEFAULT 0;
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
ALTER TABLE "generations" DROP COLUMN "video_height";
ALTER TABLE "generations" DROP COLUMN "video_seconds";
ALTER TABLE "generations" DROP COLUMN "heartbeat_at";
ALTER TABLE "generations" DROP COLUMN "thumb_key";
ALTER TABLE "generations" DROP COLUMN "video_width";
ALTER TABLE "generations" DROP COLUMN "captions";
ALTER TABLE "generations" DROP COLUMN "caption_style";
ALTER TABLE "generations" DROP COLUMN "speech_words_key";
ALTER TABLE "generations" DROP COLUMN "attempts";
DROP TABLE IF EXISTS "generation_steps";
COMMIT;
""",
    "postgres": """
ALTER TABLE "generations" DROP COLUMN "video_height";
ALTER TABLE "generations" DROP COLUMN "video_seconds";
ALTER TABLE "generations" DROP COLUMN "heartbeat_at";
ALTER TABLE "generations" DROP COLUMN "thumb_key";
ALTER TABLE "generations" DROP COLUMN "video_width";
ALTER TABLE "generations" DROP COLUMN "captions";
ALTER TABLE "generations" DROP COLUMN "caption_style";
ALTER TABLE "generations" DROP COLUMN "speech_words_key";
ALTER TABLE "generations" DROP COLUMN "attempts";
DROP TABLE IF EXISTS "generation_steps";
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
    "eJztXWtv2zYU/SuEv6wDvCJ10iRLPzmp23lL4yJxu6EPqLREyUQkUiOpuMbW/z5S76crub"
    "ahaAKGIiZ5ROncKz4O79X+GTjUQDZ/+hoRxKDAlAwuwD8DAh0k/yipHYIBdN2kThUIuLD9"
    "5lbczi+HCy4Y1IWsMqHNkSwyENcZdsOOBu+xgSi/AJi4nuBD4DJqMcTlXzrlAkBiAPnTs4"
    "W6nEF1eT1MLIWcEQQeFPoCrJZQACz/48CBBgLUHIIlXck+GRBLBFaU3SMGLCqGcdv48n6B"
    "Lh8XUE88Vd14BP/tIU1QC0k0k519/CyLMTHQV8TVz48DjyOmYUM11xmCAhkaFAPZ7OOACy"
    "g8PvisMO69ZmJkGxlOA5hfrom165ddYmtKxCu/rXrShaZT23NI0t5diyUlMQATn5KQcKR6"
    "EMxTDBPPtkN7RKQHT5Q0CR4lhTGQCRXJF0ChgxtIygaadjOba3eTuaYNCjaMECnjhEW6dA"
    "Npf3mr3CfAUrfwy6+j0fHx2ejo+PT8+cnZ2fPzo3PZ1r/fYtXZt+BmEraCS/mcTV9Pb+bq"
    "hqh0ssABVcE3HwMFDFC+xRL25U2ZmDnaPVoXzXC1hKzcCDlYzhryMfPWiLhvrzkc+FWzEb"
    "HEUv58NjrfQPX78e3Vb+PbJ7LVz1nCb8KqUVCnuE+4Nhg0hVbm79VEpzG7YTkqSGhOBqOD"
    "83w8qkHz8aiSZVWVJdmmOpStGlCcIDpIcB03rnbiggublDlQNGE3QXSQ3WendUaJ0+pB4j"
    "RPsC6JlEuEeDqtPSDncB0k+/SkBtmnJ5Vkq6os2Q8U66gh0WlMT3INkhdQv7cY9YjRdJFR"
    "RG5FeLiKaCffo+fPaxAuW1Uy7tdlKUcGVktw7EALNSW9DNvTXov24L6KZM/R14q9TILoxF"
    "CygdL55C9/b+Jw/redZvLJm/FfPsnOOqy5nt28jpqnmL+6nl3mCXcR0pdNPTyL6gTxh3Du"
    "gDVqWVvynUL240kTyjmSXRu8SPkrm8KqgaUAzXFuKuwj9PQNLL+cvbu8noC3t5Or6d10dp"
    "MZVIJKVSQL5Aynym4n4+tyyleUGXxLP89ge0+v5ek6dGOVNKcEUmojSCo2PSlYjumFxO3L"
    "vSNZKs11LFXt2qsvZ7PrzMR5Oc3PjO/eXE7kNvPnrHdH2l+BZY2LdTOFpADsnlvvft8TCt"
    "9NBpAY0cFFye6lEi6Q24zeoH33nHf3Kqo6DypyW3kmEzX//qnMY/Db4GBm9Ozk7OT8+PQk"
    "Po+JSzYdwxSHXYZMTz5J2THXpsktDTvg5BaXHHbxtsNpDjFGmcYQ5MH5bG3lI4fr3jixl1"
    "OtgDYDCYjt5nQnuA7SfXR0VIdv2ayacL8yJ1urc/6mu5MMqHtc72VbAj0DNyY6A+qJrkV0"
    "4JwmthufxuSBPeG1CBdLz1k09ewMqCe6gWevsCG7qL+ezqG2Wla3jesdr6oDipYIW8smO5"
    "U8rKe2itptZOcCckvVuWUE71l0DlYMW8x+BWA/KNeTm5MY1QLbL2WNwA6qEDoyyBzdRgh9"
    "Gv3xCMWPTUe40zeTu/n4zdvMPv3leD5RNaOs54elT/KCXnwR8Od0/htQP8GH2Y3/kriUCx"
    "XunGk3/zBQ9wQ9QTVCVxo00pxExVFRXoFl25k5i9yBmVv2jnXJyiYmmC+3MnMO2tu5zXaG"
    "QiDHFSULksrFXhpyOGn6KG/Mo/Ys7ZZIDmwLOYdt8bbksf3r0ubXJZWSUz+3JgXq0lHOAX"
    "JsVHqTeV+aYqNILdlFUSY3oeQPtPZNMZX3DYledroeJp29Cy/zyEzwLfKxqDR57Rlcxflg"
    "adeTzy6fGEX7pbv57fRKcqwoViHBK8gMrYJrdcZbFkUSwl79cYvsOHGvnOckue8uPDDuCO"
    "M+gXREU8RlKC1WOSMnXwIJtPxHUn2rnspZ25g0GfFaJ3FSiy36/ezJt9hFNiYI+BhATQBB"
    "cqULldGo0ir9PEeXUSVWMMCQNBoXAAeCRSGpUl0rf6mfOHDDvlS6pZ8XqbIoo/XkUP7gYX"
    "dDP+cy6k4ikw6ffiKfyDjoAXPw5QvzCJFdf/kCTEYd/yImZiozM1jIvFBtArh8VWQziVox"
    "LCsJWCBTjijpBM8V9O+CAPiJRP0PAafyUcIWcroJNjrAwcYvqj1wqW1zeRUokhuVfoSgoU"
    "hw4VreH5A9SRKp/9iUoKo00Y9pOwavth+D8TmXP9qnhrYyNfSg8TVtG0T3HWDTR4ftOTos"
    "GSebkJxFdU9O3VdIQjDXFZmuTn1JEF1g+dCZL49XDGnpmZcfjdRkpIgBXXDfwwwSLdLj2z"
    "Ybdkl56gX5/4edC5u7+hu1ArRXG3elNibU7kBzzH7o6pGZo67yWHDGjP54Nb67Gr+cbJIf"
    "96mrXSPDQmxCBFsPSkS1dPVwk6Jm+w01JFtiVFNPmzwgtgYOfUCOxCn9R2fq8wDlQllJux"
    "eA0RUHkCFAkLwY8Fw1dBuAMhAwbGzziTH5b/85sXZqRtKqAjbYlMTtuzQB7DBzqGkOyw9m"
    "r7SO0D2rcNiQW2IqENHXTYOhS6D9V/Dq5AstoK0WHRo0Rdm5aOVQUcD1Q0bJkEGkSzZx46"
    "h991SMvUSOMmQ2G47NbpK7+3T5Pia3kvouiQZ9WFJbhII+LGnfYUn71AV82ksEgcgc1UqA"
    "eqKaAsBcPq7FoANiTGbXPwaZBio6JYpKUWEomUoV7lJvq3/wnX37F+Wt2NorK/p/N1j/pD"
    "H9Iuj7iyA/2ktrynIWdbiN/2BwEJr3sgvtPxO+z8+E++e1mgvXNoWN4m8KwH7U6LdO/dYp"
    "1B4szAViW1m6AO7P1ttsaxvKGZ0jRLYwdR7bv9atNjXm2gIS0vj7cBlc/4G4Bh+IC08Smp"
    "89HFaAanPoZEFXqpOclfvfoe0iRevxjl3F9KzM+F8I19ierVyMSFfo2qe6NkYM68tBib4W"
    "1gw3KWwwafM9ia2ahh0LZf+X+JcfPEitlr8eEOOlQXUbPk6XQDooGezni4tuo5SzsHkH2X"
    "1WNwR/UwR+8avORCBSsqH4/W52U6EQJJD8PgLrAvwLbMwf4xHcBnIVGZmVZiFhJ5+bM8zu"
    "CtQFLpstknY/mX37DyHY8vA="
)
