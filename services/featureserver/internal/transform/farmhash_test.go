package transform

import "testing"

// Known answers published by others, so the port is checked against FarmHash itself
// and not against this file: the Keras Hashing and TensorFlow to_hash_bucket_fast
// documentation examples, and BigQuery FARM_FINGERPRINT(”) (which is Fingerprint64).
func TestFarmHashFingerprint64KnownAnswers(t *testing.T) {
	if got := FarmHashFingerprint64(nil); got != 0x9ae16a3b2f90404f {
		t.Errorf(`Fingerprint64("") = %#x, want 0x9ae16a3b2f90404f (BigQuery FARM_FINGERPRINT('') = -7286425919675154353)`, got)
	}
	for _, c := range []struct {
		in   []string
		bins uint64
		want []uint64
	}{
		// keras.layers.Hashing(num_bins=3) on [['A'], ['B'], ['C'], ['D'], ['E']]
		{[]string{"A", "B", "C", "D", "E"}, 3, []uint64{1, 0, 1, 1, 2}},
		// tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3)
		{[]string{"Hello", "TensorFlow", "2.x"}, 3, []uint64{0, 2, 2}},
	} {
		for i, s := range c.in {
			if got := FarmHashFingerprint64([]byte(s)) % c.bins; got != c.want[i] {
				t.Errorf("Fingerprint64(%q) mod %d = %d, want %d", s, c.bins, got, c.want[i])
			}
		}
	}
}

// Every length class of the algorithm (0–16, 17–32, 33–64, the >64 loop with one and
// several blocks), against the C++ reference (pyfarmhash 0.5.1 fingerprint64 over the
// bytes (i*37+11) mod 256).
func TestFarmHashFingerprint64LengthClasses(t *testing.T) {
	want := map[int]uint64{
		0: 11160318154034397263, 1: 4787810249829893994, 3: 3979540680440595841,
		4: 14708324829907283305, 7: 10810953559526984053, 8: 9029840561075318013,
		15: 9461816582243015007, 16: 15579719139305551062, 17: 6692022265393568454,
		31: 5954998855510709538, 32: 11543571239247179175, 33: 9480451918888261270,
		63: 9004466194475038334, 64: 4226431515964725, 65: 18101669290602532278,
		127: 15496381160035339524, 128: 3742283891066476345, 129: 14054188206783653085,
		200: 5850749971184008558, 1000: 14329278931567331828,
	}
	for n, w := range want {
		s := make([]byte, n)
		for i := range s {
			s[i] = byte((i*37 + 11) % 256)
		}
		if got := FarmHashFingerprint64(s); got != w {
			t.Errorf("len %d: got %d, want %d", n, got, w)
		}
	}
	for s, w := range map[string]uint64{"São Paulo": 14116207391558164704, "東京": 16000898596748466101, "münchen": 10963342080502681842} {
		if got := FarmHashFingerprint64([]byte(s)); got != w {
			t.Errorf("%q: got %d, want %d", s, got, w)
		}
	}
}
