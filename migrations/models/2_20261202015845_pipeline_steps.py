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
ALTER TABLE "generations" ADD "speech_words_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_height" INT;
ALTER TABLE "generations" ADD "attempts" INT NOT NULL DEFAULT 0;
ALTER TABLE "generations" ADD "video_seconds" REAL;
ALTER TABLE "generations" ADD "heartbeat_at" TIMESTAMP;
ALTER TABLE "generations" ADD "caption_style" VARCHAR(64);
ALTER TABLE "generations" ADD "thumb_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_width" INT;
ALTER TABLE "generations" ADD "captions" INT NOT NULL DEFAULT 1;
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
ALTER TABLE "generations" ADD "speech_words_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_height" INT;
ALTER TABLE "generations" ADD "attempts" INT NOT NULL DEFAULT 0;
ALTER TABLE "generations" ADD "video_seconds" DOUBLE PRECISION;
ALTER TABLE "generations" ADD "heartbeat_at" TIMESTAMPTZ;
ALTER TABLE "generations" ADD "caption_style" VARCHAR(64);
ALTER TABLE "generations" ADD "thumb_key" VARCHAR(255);
ALTER TABLE "generations" ADD "video_width" INT;
ALTER TABLE "generations" ADD "captions" BOOL NOT NULL DEFAULT True;
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
ALTER TABLE "generations" DROP COLUMN "speech_words_key";
ALTER TABLE "generations" DROP COLUMN "video_height";
ALTER TABLE "generations" DROP COLUMN "attempts";
ALTER TABLE "generations" DROP COLUMN "video_seconds";
ALTER TABLE "generations" DROP COLUMN "heartbeat_at";
ALTER TABLE "generations" DROP COLUMN "caption_style";
ALTER TABLE "generations" DROP COLUMN "thumb_key";
ALTER TABLE "generations" DROP COLUMN "video_width";
ALTER TABLE "generations" DROP COLUMN "captions";
DROP TABLE IF EXISTS "generation_steps";
COMMIT;
""",
    "postgres": """
ALTER TABLE "generations" DROP COLUMN "speech_words_key";
ALTER TABLE "generations" DROP COLUMN "video_height";
ALTER TABLE "generations" DROP COLUMN "attempts";
ALTER TABLE "generations" DROP COLUMN "video_seconds";
ALTER TABLE "generations" DROP COLUMN "heartbeat_at";
ALTER TABLE "generations" DROP COLUMN "caption_style";
ALTER TABLE "generations" DROP COLUMN "thumb_key";
ALTER TABLE "generations" DROP COLUMN "video_width";
ALTER TABLE "generations" DROP COLUMN "captions";
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
    "eJztXWtv2zYU/SuEv6wDvCJ10iTLPjmp23lL4yJxt2FtodISJRORSI2k4hpb//tIvZ+u5N"
    "mGrAkYipjkEaVzr/g4vFf7e+BQA9n8+RtEEIMCUzK4An8PCHSQ/KOkdggG0HWTOlUg4ML2"
    "m1txO78cLrhgUBeyyoQ2R7LIQFxn2A07GvyGDUT5FcDE9QQfApdRiyEu/9IpFwASA8ifni"
    "3U5Qyqy+thYinkjCDwpNBXYLWEAmD5HwcONBCg5hAs6Ur2yYBYIrCi7BExYFExjNvGl/cL"
    "dPm4gHriuerGI/gvD2mCWkiimezswydZjImBviCufn4YeBwxDRuquc4QFMjQoBjIZh8GXE"
    "Dh8cEnhXEfNRMj28hwGsD8ck2sXb/sGltTIl77bdWTLjSd2p5DkvbuWiwpiQGY+JSEhCPV"
    "g2CeYph4th3aIyI9eKKkSfAoKYyBTKhIvgIKHdxAUjbQtLvZXHuYzDVtULBhhEgZJyzSpR"
    "tI+8tb5T4BlrqFH34cjU5PL0Ynp+eXL88uLl5enlzKtv79FqsuvgY3k7AVXMrnbPpmejdX"
    "N0SlkwUOqAq++hgoYIDyLZawL2/KxMzRHtG6aIabJWTlRsjBctaQj5m3RsR9e83hwC+ajY"
    "gllvLni9HlBqp/G9/f/Dy+fyZbfZ8l/C6sGgV1ivuEa4NBU2hl/l5NdBqzG5ajgoTmZDA6"
    "OM+noxo0n44qWVZVWZJtqkPZqgHFCaKDBNdx42onLriwSZkDRRN2E0QH2X1xXmeUOK8eJM"
    "7zBOuSSLlEiKfT2gNyDtdBss/PapB9flZJtqrKkv1EsY4aEp3G9CTXIHkB9UeLUY8YTRcZ"
    "ReRWhIeriHbyPXr5sgbhslUl435dlnJkYLUExw60UFPSy7A97bVoD+6rSPYcfanYyySITg"
    "wlGyidT/7w9yYO53/ZaSafvR3/4ZPsrMOa29ndm6h5ivmb29l1nnAXIX3Z1MOzqE4Qfwjn"
    "DlijlrUl3ylkP540oZwj2bXBi5S/timsGlgK0BznpsIeoadvYPnV7P317QS8u5/cTB+ms7"
    "vMoBJUqiJZIGc4VXY/Gd+WU76izOBb+nkG23t6LU/XoRurpDklkFIbQVKx6UnBckwvJG5f"
    "7h3JUod17+vZ7DYzg15P81Pk+7fXE7nf/D7r5pEIWKBb42LdTCopALvn37vfAIUKeJORJE"
    "Z0cHWye82EC+Q2ozdo3z3n3b2cqg6GitxWHs5Ezb99PHMMfhuc0IxenF2cXZ6en8UHM3HJ"
    "pvOY4rDLkOnJJyk779o0y6VhB5zl4pKjneYQY5RpDEEeHNTWlkByuO6NE3s53gpoM5CA2G"
    "5Od4LrIN0nJyd1+JbNqgn3K3P6tTrwb7pNyYC6x/Ve9ifQM3BjojOgnuhaRAfOaWK78bFM"
    "HtgTXotwsfScRVPPzoB6oht49gobsov66+kcaqtlddu43vGqOqBoibC1bLJTycN6aquo3U"
    "Z/LiC3lJ9bRvCe1edgxbDF7FcA9oNyPd05CVYtsP1K1gjsoAqhI4PM0W2E0OfRH0cofmw6"
    "y52+nTzMx2/fZfbpr8bziaoZZT0/LH2WF/Tii4Dfp/OfgfoJ/pzd+S+JS7lQcc+ZdvM/B+"
    "qeoCeoRuhKg0aak6g4KsorsGw7M2eROzBzy96xLlnZxATz5VZmzkF7O7fZzlAI5LiiZEFS"
    "udhLQw4nTZ8cyTJvieQgt5Dz2RZvTh7bvzptfnVSeTr1E25SoC4d6xwg8UblPJmPpXk3it"
    "SSHRVlckNKfkVr3xRTed+Q6GUn7WEm2vvwMkdmgq+Rj0WlyWvP4CpOEku7nnx2+cQo2js9"
    "zO+nN5JjRbGKE15BZmgVXKvz3rLQkhD2+td7ZMfZfOU8Jxl/D+HhcUcY9wmkI5oiLkNpsc"
    "oZOfkSSKDlP5LqW/VUztrGTMqI1zrZlFps0W+nVL7DLrIxQcDHAGoCCJIrXak0R5Vr6Sc/"
    "uowq4YIBhqTRuAA4EC8KmZbqWvlLfceBG/alcjD9ZEmVWhmtLYfyBw+7G/qJmFF3Epl0+P"
    "wj+UjGQQ+Yg8+fmUeI7PrzZ2Ay6vgXMTFT6ZrBouYn1SaAy1dFNpOoFcOykoAFMuWIks76"
    "XEH/LgiAH0nU/xBwKh8lbCGnm2DTAxxs/KDaA5faNpdXgSK5UelHCBqKBBeu5f0B2ZMkkf"
    "qPTQmqyh39kLZj8Gr78Rifckmlfb5oK/NFDxpr07ZBdN/BNn2k2J4jxZJxsgnJWVT3pNV9"
    "hScEc12R6ep8mATRBZYPnQ7TCyM7Fkb8yKQmI0UM6IL7HmaQaJE237bZsEvKUy/O/z/sXN"
    "jc1d+oFaC92rgrtTGhdgeaY/brV0dmjrrKY8EZM/rjzfjhZvxqskl+3KeudosMC7EJEWw9"
    "KBHV0tXDTYqa7TfUkGyJUU09bfKE2Bo49Ak5Eqf0H52pbwaUC2Ul7X4CjK44gAwBguTFgO"
    "eqodsAlIGAYWOb747Jf/tvjLVTM5JWFbDBpiRu36UJYIdZRE3zWf5jJkvrCN2zCocNuSWm"
    "AhF93TQwugTafxqvTu7QAtpq0aFBU5Sdi1YOFQVcP2SUDBlEumQTN47ad0/F2EsUKUNms+"
    "HY7Ca5u0+d7+NzK6nvkmjQhyW1RSjow5L2HZa0T13Ap71EEIjMUa0EqCeqKQDM5eNaDDog"
    "xmR2/WOQaaCiU6KoFBWGkqlU4S71tvoH39m3f1Heiq29sqL/d4P1TxrTL4K+vQjyo720pi"
    "xnUYfb+A8GB6F5L7vQ/tvh+/x2uH9eq7lwbVPYKP6mAOxHjX7r1G+dQu3BwlwgtpWlC+D+"
    "bL3NtrahnNE5QmQLU+ex/WvdalNjri0gIY2/FZfB9R+La/CxuPAkofnZw2EFqDaHThZ0pT"
    "rJWbn/R9ouUrSOd+wqpmdlxv9CuMb2bOViRLpC1z7VtTFiWF8OSvS1sGa4SWGDSZtvSWzV"
    "NOxYKPu/xL/8x4PUavnrCTFeGlS34UN1CaSDksF+vr7oNko5C5t3kN0XdUPwN0XgF7/wTA"
    "QiJRuKXx5mdxUKQQLJ7yOwLsA/wMb8GI/gNpCryMisNAsJO/ncnGF2V6AucN1skbT7yezr"
    "v+mk+Pg="
)
