"""Ad layers: brand kit, text and logo layers, captions, end cards and content credentials on each deliverable."""
