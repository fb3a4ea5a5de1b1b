//! The scripted command sequences of the hash tests, one command per line,
//! each checked against Redis. Fields are inserted in byte order so that
//! whole-hash replies compare exactly (see the parent module).

pub const BASICS: &str = r#"
    HSET h a 1
    HSET h b 2 c 3
    HSET h a 10 d 4 a 11
    HGET h a
    HGET h nosuch
    HGET nokey a
    HGETALL h
    HKEYS h
    HVALS h
    HLEN h
    HLEN nokey
    HGETALL nokey
    HKEYS nokey
    HVALS nokey
    HMGET h a nosuch b
    HMGET nokey a b
    HEXISTS h a
    HEXISTS h nosuch
    HEXISTS nokey a
    HSTRLEN h a
    HSTRLEN h nosuch
    HSTRLEN nokey a
    HSETNX h a other
    HSETNX h e 5
    HSETNX fresh f v
    HGETALL fresh
    HMSET h f 6 g 7
    HMSET h2 a 1
    HGETALL h
    HDEL h a a nosuch
    HDEL h nosuch
    HDEL nokey a
    HLEN h
    HDEL h b c d e f g
    EXISTS h
    HDEL h2 a
    EXISTS h2
    HSET e "" ""
    HGET e ""
    HSTRLEN e ""
    HGETALL e
    HSET bin "field with spaces" "value with spaces"
    HGETALL bin
"#;

pub const ERRORS: &str = r#"
    HSET
    HSET h
    HSET h a
    HSET h a 1 b
    HMSET h a
    HMSET h a 1 b
    HSETNX h a
    HSETNX h a 1 2
    HGET h
    HGET h a b
    HMGET h
    HDEL h
    HLEN
    HLEN h a
    HSTRLEN h
    HEXISTS h
    HKEYS
    HVALS h a
    HGETALL h a
    HINCRBY h a
    HINCRBYFLOAT h a
    HRANDFIELD
    HSCAN h
    SET s string
    HSET s a 1
    HSETNX s a 1
    HMSET s a 1
    HGET s a
    HMGET s a
    HDEL s a
    HLEN s
    HSTRLEN s a
    HEXISTS s a
    HKEYS s
    HVALS s
    HGETALL s
    HINCRBY s a 1
    HINCRBYFLOAT s a 1
    HRANDFIELD s
    HRANDFIELD s 2
    HRANDFIELD s 2 WITHVALUES
    HSCAN s 0
    HSCAN s 0 COUNT 0
    HINCRBY s a x
    HINCRBYFLOAT s a x
    HINCRBYFLOAT s a inf
    HSET h a 1
    GET h
    INCR h
    APPEND h x
"#;

pub const INCREMENTS: &str = r#"
    HSET h i 10 s abc f 1.5 max 9223372036854775807 min -9223372036854775808 sp " 1" z 0
    HINCRBY h i 5
    HINCRBY h i -20
    HINCRBY h new 7
    HINCRBY new f 3
    HGETALL new
    HINCRBY h s 1
    HINCRBY h f 1
    HINCRBY h sp 1
    HINCRBY h max 1
    HINCRBY h max 0
    HINCRBY h max -1
    HINCRBY h min -1
    HINCRBY h min 1
    HINCRBY h i x
    HINCRBY h i 1.5
    HINCRBY h i 99999999999999999999
    HINCRBY h i ""
    HINCRBYFLOAT h f 0.1
    HINCRBYFLOAT h f -0.1
    HINCRBYFLOAT h i 1.5
    HINCRBYFLOAT h i 1e-20
    HINCRBYFLOAT h z -0.0
    HINCRBYFLOAT h nf 3.0e3
    HINCRBYFLOAT h nf 1.5e1
    HINCRBYFLOAT h nf -1e400
    HINCRBYFLOAT h nf 1e308
    HINCRBYFLOAT h nf 1e4000
    HINCRBYFLOAT h nf 0x10
    HINCRBYFLOAT h s 1
    HINCRBYFLOAT h sp 1
    HINCRBYFLOAT h f abc
    HINCRBYFLOAT h f ""
    HINCRBYFLOAT h f " 1"
    HINCRBYFLOAT h f nan
    HINCRBYFLOAT h f inf
    HINCRBYFLOAT h f -inf
    HINCRBYFLOAT nokey f inf
    HINCRBYFLOAT h big 1.18973149535723176502e+4932
    HINCRBYFLOAT h big 1.18973149535723176502e+4932
    HSTRLEN h big
    HGET h f
    HGET h i
    HGET h z
    HINCRBYFLOAT newf x 1.5
    HGET newf x
    OBJECT ENCODING h
"#;

pub const RANDFIELD_ERRORS: &str = r#"
    HSET h a 1 b 2 c 3
    HRANDFIELD nokey
    HRANDFIELD nokey 5
    HRANDFIELD nokey -5 WITHVALUES
    HRANDFIELD nokey x
    HRANDFIELD nokey 5 bad
    HRANDFIELD h 0
    HRANDFIELD h 0 WITHVALUES
    HRANDFIELD h x
    HRANDFIELD h 1.5
    HRANDFIELD h 5 bad
    HRANDFIELD h 5 WITHVALUES extra
    HRANDFIELD h x WITHVALUES extra
    HRANDFIELD h -9223372036854775808
    HRANDFIELD h -9223372036854775808 WITHVALUES
    HRANDFIELD h -9223372036854775807 WITHVALUES
    HRANDFIELD h -4611686018427387905 WITHVALUES
    HRANDFIELD h 4611686018427387904 WITHVALUES
    HRANDFIELD h 3
    HRANDFIELD h 3 WITHVALUES
    HRANDFIELD h 100 withvalues
    HRANDFIELD h 9223372036854775807
"#;

pub const SCAN: &str = r#"
    HSET h a 1 ab 4 b 2 c 3 xyz 5
    HSCAN h 0
    HSCAN h 0 COUNT 1
    HSCAN h 0 MATCH a*
    HSCAN h 0 match *b* count 100
    HSCAN h 0 MATCH nomatch
    HSCAN h 123
    HSCAN h -1
    HSCAN h 18446744073709551615
    HSCAN h 18446744073709551616
    HSCAN h x
    HSCAN h " 1"
    HSCAN h 0 COUNT 0
    HSCAN h 0 COUNT -1
    HSCAN h 0 COUNT x
    HSCAN h 0 COUNT
    HSCAN h 0 MATCH
    HSCAN h 0 TYPE string
    HSCAN h 0 NOVALUES
    HSCAN h 0 FOO bar
    HSCAN nokey 0
    HSCAN nokey 0 COUNT 0
    HSCAN nokey 0 FOO
    HSCAN nokey x
"#;

pub const GENERIC: &str = r#"
    HSET h a 1 b 2
    TYPE h
    OBJECT ENCODING h
    EXISTS h
    EXPIRE h 100
    TTL h
    PERSIST h
    TTL h
    RENAME h h2
    EXISTS h
    HGETALL h2
    TYPE h2
    COPY h2 h3
    HSET h3 c 3
    HGETALL h2
    HGETALL h3
    COPY h2 h3
    COPY h2 h3 REPLACE
    HGETALL h3
    COPY h2 h4 DB 1
    MOVE h3 1
    SELECT 1
    HGETALL h3
    HGETALL h4
    SELECT 0
    EXISTS h3
    RENAMENX h2 h3
    SET s v
    RENAME s h2
    TYPE h2
    HGET h2 a
    HSET h5 a 1
    RENAME h5 s2
    TYPE s2
    HSET s2 b 2
    HLEN s2
    SET s2 v
    TYPE s2
    HSET s2 a 1
    DEL s2
    HSET s2 a 1
    HGETALL s2
    PEXPIRE s2 100000
    PEXPIRE s2 1
"#;

/// After GENERIC's last PEXPIRE has passed.
pub const AFTER_EXPIRY: &str = r#"
    HGETALL s2
    EXISTS s2
    HSET s2 fresh 1
    HGETALL s2
    TTL s2
    HSET gone a 1
    PEXPIRE gone 1
"#;

pub const AFTER_SECOND_EXPIRY: &str = r#"
    HSETNX gone b 2
    HGETALL gone
    HINCRBY gone2 a 1
    PEXPIRE gone2 1
"#;

pub const AFTER_THIRD_EXPIRY: &str = r#"
    HINCRBYFLOAT gone2 a 1.5
    HLEN gone2
    DBSIZE
"#;
