"""The console's pages, one module per area (its routes and the API calls behind them)."""
