"""One thin module per action; ``component.json`` names them by path."""
