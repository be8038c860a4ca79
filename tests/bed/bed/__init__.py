"""The local AWS test bed: moto on loopback, started and stopped by tests/bed/up and down."""
