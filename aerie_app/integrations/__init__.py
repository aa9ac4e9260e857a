"""Clients for the services Aerie talks to (Onshape). They raise only ``aerie_app.errors`` classes."""
