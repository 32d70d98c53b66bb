"""A second test plugin subscribing to another plugin's event, as an outside author would write it."""
