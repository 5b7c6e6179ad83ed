"""Smart road: roadside units (RSUs), their PC5 radio and perception sensors."""

from avzone.roadside.rsu import place_rsus

__all__ = ["place_rsus"]
