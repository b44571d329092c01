"""The demo data: a synthetic chest CT phantom, the sample collection, and seeding a datastore with them."""
