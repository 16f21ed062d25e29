"""Staff web console and Open311 GeoReport v2 API over ``tickets``."""
