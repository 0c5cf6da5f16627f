"""Plumbing every service needs and no service owns. Domain rules never live here."""
