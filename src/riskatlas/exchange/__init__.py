"""Standards exchange: STIX 2.1 objects of the records a reader may see, and TAXII 2.1."""
