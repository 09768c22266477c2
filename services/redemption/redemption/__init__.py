"""The redemption service: ticket balances, the redemption ledger and restaurant statements."""
