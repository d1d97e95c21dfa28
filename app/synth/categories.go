package synth

import "math"

// Channel is how a transaction reaches the bank.
type Channel uint8

// Channels.
const (
	POS      Channel = iota // card present at a terminal
	Online                  // card not present, from a device
	Transfer                // account-to-account payment from a device
	ATM                     // cash withdrawal
)

var channelNames = [...]string{"pos", "online", "transfer", "atm"}

func (c Channel) String() string { return channelNames[c] }

// Category is a merchant category with its spending profile.
type Category struct {
	Name    string
	Weight  float64 // share of a typical customer's transactions
	Mu      float64 // log-normal location of the amount in dollars
	Sigma   float64 // log-normal scale of the amount
	Online  float64 // share of the category's transactions made online
	Channel Channel // channel when not online (POS, Transfer or ATM)
	Hours   *[24]float64
	Week    [7]float64 // Monday..Sunday weights
}

// Hour-of-day profiles.
var (
	hoursShop = [24]float64{0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.5, 4, 5, 6, 6.5, 6, 6, 6, 6.5, 7, 7, 5.5, 4, 2.5, 1, 0.4}
	hoursMeal = [24]float64{0.3, 0.2, 0.1, 0.05, 0.05, 0.2, 0.8, 2.5, 3, 2, 2, 5, 9, 7, 3, 2, 2, 4, 8, 9, 6, 3, 1.5, 0.8}
	hoursRide = [24]float64{0.4, 0.3, 0.2, 0.1, 0.3, 1.5, 4, 8, 8, 4, 2.5, 2.5, 3, 2.5, 2.5, 3, 5, 8, 7, 4, 2.5, 2, 1.5, 0.8}
	hoursHome = [24]float64{1.5, 0.8, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2, 2.5, 3, 3, 3.5, 3.5, 3, 3, 3.5, 4, 5, 6.5, 7.5, 7, 5, 3}
	hoursBar  = [24]float64{3, 2.5, 1.2, 0.3, 0.1, 0.1, 0.1, 0.2, 0.3, 0.5, 1, 1.5, 2, 1.5, 1, 1, 1.5, 3, 5, 7, 8, 8, 7, 5}
)

var (
	weekFlat     = [7]float64{1, 1, 1, 1, 1, 1, 1}
	weekWeekend  = [7]float64{0.85, 0.85, 0.9, 0.95, 1.1, 1.4, 1.2}
	weekWorkday  = [7]float64{1.15, 1.15, 1.15, 1.15, 1.1, 0.65, 0.55}
	weekGoingOut = [7]float64{0.7, 0.75, 0.85, 1, 1.5, 1.6, 1}
)

// Category indexes; the order matches categories.
const (
	catGrocery = iota
	catRestaurant
	catFuel
	catRetail
	catElectronics
	catTravel
	catEntertainment
	catHealth
	catTransport
	catDigital
	catTransfer
	catCash
	catJewelry
	catBills
	catRent
	numCategories
)

// categories are the merchant categories. Amounts follow a log-normal law
// per category: exp(Mu) is the median amount in dollars.
var categories = [numCategories]Category{
	{"grocery", 0.21, math.Log(42), 0.65, 0.08, POS, &hoursShop, weekWeekend},
	{"restaurant", 0.16, math.Log(27), 0.55, 0.12, POS, &hoursMeal, weekGoingOut},
	{"fuel", 0.07, math.Log(48), 0.35, 0, POS, &hoursRide, weekFlat},
	{"retail", 0.11, math.Log(55), 0.85, 0.35, POS, &hoursShop, weekWeekend},
	{"electronics", 0.025, math.Log(160), 0.95, 0.5, POS, &hoursShop, weekWeekend},
	{"travel", 0.02, math.Log(320), 0.8, 0.9, POS, &hoursHome, weekFlat},
	{"entertainment", 0.05, math.Log(34), 0.7, 0.4, POS, &hoursBar, weekGoingOut},
	{"health", 0.045, math.Log(38), 0.75, 0.1, POS, &hoursShop, weekWorkday},
	{"transport", 0.09, math.Log(9), 0.6, 0.2, POS, &hoursRide, weekWorkday},
	{"digital", 0.06, math.Log(11), 0.75, 1, POS, &hoursHome, weekFlat},
	{"transfer", 0.05, math.Log(140), 1.0, 1, Transfer, &hoursHome, weekFlat},
	{"cash", 0.04, math.Log(90), 0.6, 0, ATM, &hoursShop, weekWeekend},
	{"jewelry", 0.005, math.Log(380), 0.9, 0.3, POS, &hoursShop, weekWeekend},
	{"bills", 0, math.Log(70), 0.6, 1, POS, &hoursHome, weekFlat},
	{"rent", 0, math.Log(1300), 0.3, 1, Transfer, &hoursHome, weekFlat}, // recurring only
}

// CategoryMedian returns the configured median amount of category i in
// dollars, before each customer's spending shift.
func CategoryMedian(i int) float64 { return math.Exp(categories[i].Mu) }

// CategoryName returns the name of category i.
func CategoryName(i int) string { return categories[i].Name }

// NumCategories is the number of merchant categories.
const NumCategories = numCategories

// ChannelName returns the name of channel c.
func ChannelName(c int) string { return channelNames[c] }

// NumChannels is the number of channels.
const NumChannels = len(channelNames)

// RegionName returns the name of region i.
func RegionName(i int) string { return regions[i].Name }

// NumRegions is the number of regions.
func NumRegions() int { return len(regions) }
