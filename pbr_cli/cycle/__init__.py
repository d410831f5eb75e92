"""The payment cycle: a month calculated, drafted, approved and recorded; where each month stands."""
