// The transaction record of bench_synth.go's gofakeit comparison, field for
// field, built with @faker-js/faker: node fakerjs.cjs N prints
// {"records": N, "seconds": S} on one line.
const { faker } = require("@faker-js/faker");
const n = Number(process.argv[2] || 200000);
faker.seed(1);
const cats = ["grocery", "restaurant", "fuel", "retail", "electronics", "travel", "transport", "digital"];
const chans = ["pos", "online", "transfer", "atm"];
const types = ["", "account_takeover", "card_testing", "velocity_burst"];
const from = new Date(Date.UTC(2025, 0, 6));
const to = new Date(from.getTime() + 90 * 86400e3);
const buf = new Array(8192);
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  buf[i % buf.length] = {
    id: i + 1,
    customer_id: faker.number.int({ min: 1, max: 150000 }),
    account_id: faker.number.int({ min: 10, max: 1500000 }),
    card_id: faker.number.int({ min: 100, max: 15000000 }),
    merchant_id: faker.number.int({ min: 1, max: 20000 }),
    device_id: faker.number.int({ min: 1, max: 2 ** 40 }),
    time: faker.date.between({ from, to }),
    category: faker.helpers.arrayElement(cats),
    channel: faker.helpers.arrayElement(chans),
    city: faker.location.city(),
    fraud_type: faker.helpers.arrayElement(types),
    amount: faker.number.float({ min: 0.5, max: 2000, fractionDigits: 2 }),
    lat: faker.location.latitude(),
    lon: faker.location.longitude(),
    is_fraud: faker.number.float() < 0.015,
  };
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ records: n, seconds }));
