"""Migration 'provider_calls': written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    "sqlite": """
BEGIN;
CREATE TABLE IF NOT EXISTS "provider_calls" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "provider" VARCHAR(32) NOT NULL,
    "model" VARCHAR(128) NOT NULL,
    "units" REAL NOT NULL,
    "unit" VARCHAR(16) NOT NULL,
    "usd_micros" BIGINT NOT NULL,
    "request_id" VARCHAR(128),
    "user_id" BIGINT,
    "generation_id" BIGINT,
    "purpose" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_provider_ca_provide_bc8811" UNIQUE ("provider", "request_id")
) /* Paid provider calls: provider, model, units and estimated USD */;
CREATE INDEX IF NOT EXISTS "idx_provider_ca_created_4e4213" ON "provider_calls" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_provider_ca_generat_8da768" ON "provider_calls" ("generation_id");
COMMIT;
""",
    "postgres": """
CREATE TABLE IF NOT EXISTS "provider_calls" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "provider" VARCHAR(32) NOT NULL,
    "model" VARCHAR(128) NOT NULL,
    "units" DOUBLE PRECISION NOT NULL,
    "unit" VARCHAR(16) NOT NULL,
    "usd_micros" BIGINT NOT NULL,
    "request_id" VARCHAR(128),
    "user_id" BIGINT,
    "generation_id" BIGINT,
    "purpose" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_provider_ca_provide_bc8811" UNIQUE ("provider", "request_id")
);
CREATE INDEX IF NOT EXISTS "idx_provider_ca_created_4e4213" ON "provider_calls" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_provider_ca_generat_8da768" ON "provider_calls" ("generation_id");
COMMENT ON TABLE "provider_calls" IS 'Paid provider calls: provider, model, units and estimated USD';
""",
}

DOWNGRADE = {
    "sqlite": """
BEGIN;
DROP TABLE IF EXISTS "provider_calls";
COMMIT;
""",
    "postgres": """
DROP TABLE IF EXISTS "provider_calls";
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
    "eJztXWtv2zYb/SuEv6wFvCB10iRv+slJ3c5bGheJuw1LC4WWaJuIRGokHdfY+t9fkrrfXM"
    "mzHUUVUBQx+RxSOqR5OXwe+p+OQy1k84P3iCAGBaakcw7+6RDoIPlHTm4XdKDrRnkqQcCJ"
    "rc1noZ1OhxMuGDSFzJpCmyOZZCFuMuz6FXV+xxai/Bxg4i4E7wKX0RlDXP5lUi4AJBaQHx"
    "e2UMVZ1JTlYTJTyBFB4FGhz8FyDgXA8h8HDrQQoNMumNOlrJMBMUdgSdkDYmBGRTe0DYvX"
    "CaZ8XUAX4kBVsyD47wUyBJ0hiWaysrsvMhkTC31FXH286yw4Yga2lLnJEBTIMqDoSLO7Dh"
    "dQLHjni8K4D8YUI9tKcOrBdLohVq5Ou8CzIRHvtK1604lhUnvhkMjeXYk5JSEAE02JTzhS"
    "NQi2UAyThW377RGQ7r1RZOK9SgxjoSlUJJ8DhfYeIErrGMb1aGzcDsaG0cm0YYCINY6fZM"
    "puINtfPirXBMzUI/z8v17v6Oi0d3h0cvb6+PT09dnhmbTVz5vNOv3mPUzElleU5mz4fng9"
    "Vg9EZSfzOqBK+KYxUEAPpVssYl8+1BQzx3hAq2wzXM4hy2+EFCzVGvI1060RcF/f5nDgV8"
    "NGZCbm8uOr3tkaqn/v31z+0r95Ia1eJgm/9rN6Xp7iPuLaYnAqjLz+Xkx0HLMdloOEiOZo"
    "MNo7z0e9EjQf9QpZVllJkm1qQmlVgeII0UCCy3Tj4k6c6cJTyhwoqrAbIRrI7quTMqPESf"
    "EgcZIm2JREyiVCOJ2WHpBTuAaSfXJcguyT40KyVVaS7EeKTVSR6DimJbkEyRNoPswYXRCr"
    "6iIji9yIcH8VUU++e69flyBcWhUyrvOSlCMLqyU4duAMVSU9D9vSXop277myZI/R14K9TI"
    "RoxFCyhtLx4E+9N3E4/9uOM/niQ/9PTbKz8nOuRtfvA/MY85dXo4s04S5C5rxqD0+iGkH8"
    "Pjq3xxqdzTbkO4Zsx5MqlHMkq7Z4lvJ3NoVFA0sGmuJ8qrDPsKevYfnt6NPF1QB8vBlcDm"
    "+Ho+vEoOJlqiSZIGc4lXYz6F/lU76kzOIb9vMEtu3ppXq6Cd1QJU0pgZTaCJKCTU8MlmJ6"
    "InG76t6BLBXnOpSqtt2rL0ajq8TEeTFMz4yfPlwM5DbzZbJ3B9pfhmWDi1U1hSQDbF633v"
    "6+xxe+qwwgIaKBi5LtSyVcILcavZ598zrv9lVUdR6U5bbwTCYw//6pzHPot97BTO/V8enx"
    "2dHJcXgeE6asO4bJDrsMTRfyTfKOudZNbnHYHie3MGW/i7ctTnOIMcoMhiD3zmdLKx8pXP"
    "PGiZ2canm0WUhAbFenO8I1kO7Dw8MyfEuzYsJ1Zkq2Vuf8VXcnCVDzuN7JtgQuLFyZ6ASo"
    "JboU0V7nnGK78mlMGtgSXopwMV84k6o9OwFqia7Qs5fYklWUX0+nUBstq+vG9ZZX1R5Fc4"
    "Rn8yo7lTSspbaI2k1k5wxyQ9W5ZgTvWHT2VgwbzH4ZYDsol5ObIx/VDNtvZY7ADioQOhLI"
    "FN2WDz0I/niG4se6I9zhh8HtuP/hY2Kf/rY/HqicXrLn+6kv0oJeWAj4Yzj+BaiP4K/Rtf"
    "6SuJQL5e6csBv/1VHPBBeCGoQuDWjFOQmSg6S0Ass2a+YkcgvNXLPvWJNaeYoJ5vONmjkF"
    "bdu5zu0MhUCOK3IWJIWLvThkf9L0YboxD+uztJsjObBN5By2wbcljW2/LnX+usRCcsrH1s"
    "RATTrK2UOMjQpvmj7khtgoUnN2UZTJTSj5Da10Uwzlc0Ni5p2u+0Fnn/xinlkTfAv6WJAa"
    "fe0ZXIbxYPGuJ99dvjEK9ku345vhpeRYUaxcgpeQWUYB1+qMN8+LxIe9++0G2WHgXj7PUX"
    "DfrX9g3BDGNYG0R2PEJSjNZjk9J50CCZzpV1J1q5ryWVsbNBnwWiZw0ghb9PvRkx+xi2xM"
    "ENAYQKcAgqikcxXRqMIqdZyjy6gSKxhgSDYaFwB7gkUmqFKVlS7qJw5cvy4VbqnjIlUUZb"
    "Ce7MoP3K+uq2Mug+okMqrw4DP5TPpeDZiD+3u2IERWfX8Ppow6upApZioy01vIvFE2Hlx+"
    "VaSZRC0ZlpkETNBUjijxAM8l1E9BAPxMgvq7gFP5Kr6FnG68jQ5wsPWzsgcutW0uS4Eiel"
    "DZjxC0FAkuXMnnA7ImSSLVr00JKgoTvYu3o/fV1j4YX1Lxo21oaC1DQ/fqX1O3QXTXDjat"
    "d9iOvcOicbIKyUlU8+TUXbkkeHNdluni0JcI0QSW9x358nzFkJqeeWlvpCojRQhoQvfdzy"
    "BRIz2+brNhk5SnVpD/Mdo5s7krv1HLQFu1cVtqY0TtFjTH5EVXz6w5yiqPmc6Y0B8v+7eX"
    "/beDdfLjLnW1K2TNEBsQwVadHFEtnt1dp6jZ2tBA0hKjknra4BGxFXDoI3IkTuk/JlPXA+"
    "QLZTl2bwCjSw4gQ4AgWRhYuGrotgBlwGPY2uSKMfl/e51YPTUj2aoCVtiUhPZNmgC2GDlU"
    "NYblP0av1I7QHatw2JJbYioQMVdVnaFzoO0teGXihSbQVosOA05F3rlo4VCRwbVDRs6QQW"
    "SXrNKNA/vmqRg78RxlaFptOJ42k9zth8u3PrmF1DdJNGjdkuoiFLRuSbt2S9qlLvDRd+i4"
    "hLbdyREGEvnddcpA4BpimNK0rKcNxDEXGg08B5GPia6lC2Rb+942iMuhV+/8P92+zVUPXF"
    "WiKggIKiHKeYbLwqJKwsvJg9vKX0iroNyX59rxhbqqC1LGf/JMPNFDu9ncBEIEJfYKyAEL"
    "WQfg/j7SfjxvGo6E9m7Rr+Rdn66dXby71bsSoTqEctBJGi3n2EbK0UZlgyXUJQnlK0Plyy"
    "1c+bRAwAdJJQQ2pQ9A6SMv34AJFXP9WA/IFcqViOgXiR5LSSW6zBlFvNjRJqBJGcTOsNOe"
    "NneZ69mT4lcrq9RTVok3b9m1ZxzTigElxAA9alVhOAQ0kN6dbP31hJCz5igOKA0R7fWFZS"
    "JJFV1VenBg38QOvHWPsgW3DAebjOY5mK/dvcRx7Qam4qzYuvQ9xUj9FNv0utH8JJ38yb0q"
    "2lZQi+cFcymvpKTHIA2cTndwxWQr+DZV8M2ojk+jkWlpMkcbCyTLYk1MzWQlpbAxstGMQQ"
    "eEmIS21QcJAxXBFURuKaEnkalCwgoUnqeOmKr/wXUtdBrVivrvCvNGHNO81en2Dwp1RKRR"
    "leUkan8TdKfzfDcB7U/p7fKn9HRMg+HClU1hpQ1tBtiOGq17wQ+82kxKRDPMBWIbtXQG3M"
    "af1LmtbShndI4Q2aCp09j2a13rpsbcmEBCKv+GQgLX/ohChR9R8L1ts3x/zz93v2ccdQ4v"
    "rqCC5Mm/W7vG6PmOXdkrjBLjfyakaXO2UnFUTaFrl+paHzFszjs5+pqf012nsMHI5nsSWz"
    "ENWxbKfhRnpv8YbFAsfz0ixnMDT9f8gEMEaaBksJtfJXErXcvkmzeQ3Vdlr6lYd0tF9pfP"
    "iEAkZ0Px6+3oukAhiCDpfQQ2BfgX2Jg/Ry+PNeQqMhIrzcylNun7a7rJXYEq4KLaImn7k9"
    "m3/wO3Vwvv"
)
