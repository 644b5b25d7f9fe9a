"""Our LTX-2 audio+video Diffusion Transformer: model, latents, sampling, VAEs and checkpoint loading."""
