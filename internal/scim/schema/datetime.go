package schema

import (
	"fmt"
	"time"
)

// ParseDateTime parses a SCIM dateTime (RFC 7643 §2.3.5, xsd:dateTime):
// RFC 3339 with any number of fractional digits and a "Z" or numeric
// offset. A value without a zone is taken as UTC, and so is a bare date,
// which some clients put in filters.
func ParseDateTime(s string) (time.Time, error) {
	layouts := [...]string{
		time.RFC3339Nano,                // 2015-10-10T14:38:21.8617979-07:00, …Z
		"2006-01-02T15:04:05.999999999", // xsd:dateTime without a zone: UTC
		"2006-01-02",                    // a date alone, from hand-written filters
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a dateTime (RFC 3339, e.g. 2015-10-10T14:38:21Z)", s)
}
