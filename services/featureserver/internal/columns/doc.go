// Package columns converts feature values between the forms Floe holds them in:
// Arrow columns (what the offline store reads and training writes), the online
// row encoding (what materialization and cache fills publish), transform columns
// (what transform chains run on) and the columns of serving responses.
//
// Every conversion lives here once, so materialization, the serving read path,
// training and fitting agree on how a join key prints, which row of an entity is
// its latest and how a null travels. It sits below the stores' consumers and
// above registry, transform and the online row codec: offline, materialize,
// serving, training and fit may import it; it imports none of them.
//
// Files, one conversion each:
//   - keys.go: Arrow join key columns to canonical key strings (KeyStrings).
//   - online.go: canonical Arrow rows to online rows (Latest).
//   - arrow.go: Arrow columns to and from transform columns (FromArrow, ToArrow).
//   - proto.go: serving response columns to and from transform columns
//     (FromProto, ToProto).
package columns
