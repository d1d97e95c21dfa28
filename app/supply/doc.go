// Package supply is the supply-chain crisis room: multi-echelon networks with
// lead times, capacities, yields and costs (presets: the MIT beer game,
// OR-Gym's NetworkManagement network, a "global" network with two sourcing
// regions and a shipping lane), six agents that run them and talk on the
// agent protocol (supplier, manufacturer, logistics, distributor, retailer
// and a coordinator), crises injected by a person or drawn at random, the
// KPIs of each run against a no-disruption twin on the same seed, and the
// paired many-seed comparison of coordinated and uncoordinated play.
//
// The learned policy is a controller trained by package marl on its
// supply-chain world ("supply"); this package maps its echelons onto any
// network. Everything is deterministic from its seed.
package supply
