"""Documents: uploaded materials and previews, Excel exports and imports, electronic
certificates, QR codes."""
