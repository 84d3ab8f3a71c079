"""Audio plumbing: decoding, resampling and WAV writing (see ``pcm``)."""
