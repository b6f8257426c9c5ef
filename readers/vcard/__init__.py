"""vcard."""
