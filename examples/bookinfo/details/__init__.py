"""details: a WSGI service (served by waitress) with a book's publishing details."""
