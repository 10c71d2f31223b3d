"""Migration 'init': written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    "sqlite": """
BEGIN;
CREATE TABLE "users" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "username" VARCHAR(64),
    "first_name" VARCHAR(128) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "start_payload" VARCHAR(64),
    "created_at" TIMESTAMP NOT NULL,
    "registered_at" TIMESTAMP,
    "last_seen_at" TIMESTAMP NOT NULL,
    "is_banned" INT NOT NULL,
    "balance" INT NOT NULL
) /* Telegram users */;
CREATE TABLE "ledger_entries" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "delta" INT NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "idempotency_key" VARCHAR(128) NOT NULL UNIQUE,
    "balance_after" INT NOT NULL,
    "note" VARCHAR(255),
    "ref" VARCHAR(64),
    "created_at" TIMESTAMP NOT NULL,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
) /* Every movement of credits */;
CREATE INDEX "idx_ledger_entr_user_id_bc8069" ON "ledger_entries" ("user_id", "id");
CREATE TABLE "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);
COMMIT;
""",
    "postgres": """
CREATE TABLE "users" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "username" VARCHAR(64),
    "first_name" VARCHAR(128) NOT NULL,
    "locale" VARCHAR(8) NOT NULL,
    "start_payload" VARCHAR(64),
    "created_at" TIMESTAMPTZ NOT NULL,
    "registered_at" TIMESTAMPTZ,
    "last_seen_at" TIMESTAMPTZ NOT NULL,
    "is_banned" BOOL NOT NULL,
    "balance" INT NOT NULL
);
COMMENT ON TABLE "users" IS 'Telegram users';
CREATE TABLE "ledger_entries" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "delta" INT NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "idempotency_key" VARCHAR(128) NOT NULL UNIQUE,
    "balance_after" INT NOT NULL,
    "note" VARCHAR(255),
    "ref" VARCHAR(64),
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
CREATE INDEX "idx_ledger_entr_user_id_bc8069" ON "ledger_entries" ("user_id", "id");
COMMENT ON TABLE "ledger_entries" IS 'Every movement of credits';
CREATE TABLE "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);
""",
}

DOWNGRADE = {
    "sqlite": """
""",
    "postgres": """
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
    "eJztmm1z4jYQgP+Kxp/SmTRDDCG09wlS0qOXQCfh2s7d3DjCXowmtsTJIjnmmv9eSdj4ne"
    "A00ED5kjH74qyfleXdtb8bPnPAC06uwHGBd6ngc+Nn9N2g2Ad5UKQ+RgaeTmOlEgg88rS9"
    "pw0tkJYEtAqPAsGxLaR2jL0ApMiBwOZkKgijyqf7AHyOfPYAvvRDbIxsDg4R2t1htvQn1F"
    "WWAwpFdu8QZ48BwhwQBXkyNJs6WICDGEcyQpCHJ+pcM0q+zsASzAUxAS7P+PmLFBPqwDcZ"
    "rPz52ZgFMnziKHP594vST++tMQHPSYFZmGi5JeZTLesQt0fFpbZVoY8sm3kzn8b207mYML"
    "p0IFQoqQsUuApYygSfKUR05nkh04jaIvrYZBF2wseBMZ55CrTyXgQQywzL6g+G1m13aFlG"
    "LgmRR4J2KLIZVQmUoQYagKtC+PEn06zXz81avdk6a5yfn7VqrWOVfanLq86fFsHEtBan0s"
    "x6v/b6QxUQk6tksYiU4En7YIEXXjo7MX2ZVYHzCSilv7R/PgER7lUZiARxCuKlvb0cmKeN"
    "80ar3mws0S8lq4hHdGOaHHAgI8jhvJhgXswz9sgAlWHuIlAff7M8oK6YyJ91cwW9P9o3F+"
    "/bN0d184f0ou2HGlOr0oCJA/6UCaD23LqHeRXSBa6vg/y/3UVSwE/N1hrEpVUpcq1LMx9h"
    "D1MbLDwWwCtsFTm/w5ZRsGVQuSSrLOPI/kVrN1yZb4ZlavGaZ2drLF5pVbp4tS67I4+rbc"
    "fj/YTbbKzBttkoRatUabKyZFQsLCzygH+RGkF8KIac9sywdkLXk+hgB/eIFaiHvevu7bB9"
    "/bs6vR8EXz3Nqz3sKo2ppfOM9KiZScvyJOjP3vA9Uj/Rp0G/q3GyQLhc/8fYbvjJUDHhmW"
    "AWZY8WdpJMInEkSqU5UcavX6MnnPZp099Cra7apPF9YamuoObTcMk4EJd+gLlORU/GrZ66"
    "BejDDvRjeJodS8FTtMYiabzjcvy47CuTS09e+6JpVfIbeSfc9C4kY4V4hO37R8wdK8VaaZ"
    "jJMpKlbV7lm35Wgil2NR11GSroJPaCgUCUjvJJgLqiNQcAQ3m5Lsc+Wvqkuv42Shm8Q3d3"
    "xLm7QyRAso1PKxFZt9Xfemf/9ovyN9Haqyzq4wr1T9LnUAQ9XwSNCQ+EVZVy2mt7jb9hbA"
    "XzRrpQj9nYq0Q59tjD0co6hMv55ujKooELa4rnHsMFu3Y55JzjYdc4tE6H1imcPbgkEMBf"
    "lOmc8ysk+43dZvuUaw/LJ3oAQF+Q6qzv4bZ+06kmgTXClEJRd8OYB5iWtDdJv0yOR9JxU2"
    "ldSrab185gcJVKaaeXaWH6H687XVkI6lxKIyJSnU3uDUT1dw/bHUDVNlWOvMIrh9xcqXwK"
    "ktjUct8gZJZ76H/54QY8rC8rD7z4w4fd3L9y06enTY6M2sCJPTEKhkah5njV2AjHNs/Njc"
    "oxvPL05//yUce/fDtYPtN5AB6Qal8YJFz2sA/eyEtDdVNVIBya7yHd01ptnUlOrVY+yVG6"
    "TPfLqABaUCX/djvol7S9sUu2OCa2QH8jT/ZKO0h7BVwFI1U+RUyPrtt/ZXFfXA062VJXna"
    "BT7cn/+g+zp38AQ80UKg=="
)
