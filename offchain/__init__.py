"""Everything that runs off the chain: field, shares, protocols, preprocessing, transport."""
