"""Simulators of the outside world: Odin/CloudBlue, Ingram Micro CMP, Autotask, ConnectWise, HaloPSA, Slack."""
