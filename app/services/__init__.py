"""Services called by hooks and jobs: users, the credits ledger, catalogs; collected in ``Services``."""
