"""Tools core (no Textual): structured output through instructor (`structured`), places and
distances (`geo`), the country and image -> city flows (`where`), their saved history
(`history`), and native tool calling (`registry`, `builtin`, `loop`). Heavy libraries
(openai, instructor, haversine/numpy, chromadb, psutil) load on first use."""
