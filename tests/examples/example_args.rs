//! The command line shared by the server examples (`examples/support/args.rs`):
//! `[ADDR] [OPERAND...] [--threads N | --current-thread]`, with `ADDR` from the environment
//! when no argument gives it. Tested here, once, since cargo builds examples but does not test
//! them (and `tests/examples/` loads the file once per example).

#[path = "../../examples/support/args.rs"]
mod args;
use args::Args;

fn parse(args: &[&str], env: Option<&str>) -> std::io::Result<Args> {
    parse_with(args, env, 0)
}

fn parse_with(args: &[&str], env: Option<&str>, operands: usize) -> std::io::Result<Args> {
    let args = args.iter().map(|s| s.to_string());
    Args::from_parts(args, env.map(String::from), "default:1", operands)
}

#[test]
fn the_argument_wins_over_the_environment_and_the_default() {
    assert_eq!(parse(&["a:1"], Some("b:2")).unwrap().addr, "a:1");
    assert_eq!(parse(&[], Some("b:2")).unwrap().addr, "b:2");
    assert_eq!(parse(&[], None).unwrap().addr, "default:1");
}

#[test]
fn threads_select_the_multi_thread_runtime() {
    assert_eq!(parse(&["a:1", "--threads", "3"], None).unwrap().threads, Some(3));
    assert_eq!(parse(&["--threads", "2", "a:1"], None).unwrap().addr, "a:1");
    assert_eq!(parse(&["--threads", "2", "--current-thread"], None).unwrap().threads, None);
    assert!(parse(&["--threads"], None).is_err());
    assert!(parse(&["--threads", "x"], None).is_err());
    assert!(parse(&["--threads", "0"], None).is_err());
    assert!(parse(&["--bogus"], None).is_err());
    assert!(parse(&["a:1", "b:2"], None).is_err());
}

#[test]
fn operands_follow_the_address_up_to_the_limit() {
    let args = parse_with(&["a:1", "up:2", "--threads", "2"], None, 1).unwrap();
    assert_eq!(
        (args.addr.as_str(), args.operands, args.threads),
        ("a:1", vec!["up:2".to_string()], Some(2))
    );
    // The first positional argument is always the address, even with `ADDR` set.
    let args = parse_with(&["a:1", "up:2"], Some("b:2"), 1).unwrap();
    assert_eq!((args.addr.as_str(), args.operands), ("a:1", vec!["up:2".to_string()]));
    assert!(parse_with(&["a:1"], None, 1).unwrap().operands.is_empty());
    assert!(parse_with(&["a:1", "b", "c"], None, 1).is_err());
    assert_eq!(parse_with(&["a:1", "b", "c"], None, 2).unwrap().operands.len(), 2);
}

/// The flavor named in the start-up lines.
#[test]
fn flavor_names_the_runtime() {
    assert_eq!(parse(&[], None).unwrap().flavor(), "current-thread");
    assert_eq!(parse(&["--threads", "2"], None).unwrap().flavor(), "2 worker threads");
}
