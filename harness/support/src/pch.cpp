// Carries the precompiled header that every lab and the harness reuse.
