"""The one visibility policy: owner organisation, TLP 2.0 marking and sharing groups."""
