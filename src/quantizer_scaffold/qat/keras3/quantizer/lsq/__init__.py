"""LSQ (learned step size) trainable quantizers for Keras 3."""
