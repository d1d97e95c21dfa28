// Package rl holds reinforcement-learning environments, vectorised rollouts,
// PPO and SAC built on package nn, and their checkpoints.
//
// Every run is deterministic from its seed: environments draw their episode
// seeds from per-environment streams, so the number of worker goroutines that
// step them never changes a result.
package rl
