// Package marl is multi-agent reinforcement learning: an environment API in
// the style of PettingZoo's parallel API, verification worlds (MPE
// simple_spread and the QMIX paper's matrix games), QMIX with VDN as its
// special case, MADDPG, three Metastation worlds (trading on a shared order
// book, a four-echelon supply chain, resource allocation) and a market
// curriculum from calm to black swan, all built on package nn.
//
// Every run is deterministic from its seed.
package marl
