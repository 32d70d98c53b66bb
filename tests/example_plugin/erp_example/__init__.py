"""A minimal plugin written exactly as an outside developer would: proves the plugin contract."""
