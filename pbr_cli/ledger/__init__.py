"""The ledger: an append-only, hash-chained record of what was calculated, approved and paid."""
