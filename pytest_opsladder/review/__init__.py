"""Human review of sampled production runs (ladder level 7): a loopback page and a CLI."""
