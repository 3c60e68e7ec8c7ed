"""The nightmare set: curated hard cases, one file per case (ladder level 7)."""
