"""The provider layer: one async interface over every API in the contract (no Textual here)."""
