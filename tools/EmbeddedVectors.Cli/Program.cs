using System.Text.Json;
using EmbeddedVectors.Cli;
using EmbeddedVectors.Cli.Commands;
using Spectre.Console;

return CliApp.Run(args);

namespace EmbeddedVectors.Cli
{
    /// <summary>The <c>ev</c> tool: <see cref="Run"/> is the whole program (public so tests can call it in-process).</summary>
    public static class CliApp
    {
        private const string Usage = """
            ev — EmbeddedVectors command-line tool

            On-disk stores (a store is a directory):
              ev create DIR --dim D [--metric l2|ip|cosine] [--nlist 1024] [--m D/8] [--no-vectors]
                        [--training-threshold N] [--seal-threshold 65536] [--codes pq8|pq4fs] [--opq]
                  Creates an empty store. --no-vectors keeps only the codes (no re-ranking); the store trains
                  itself once it holds --training-threshold vectors (default max(256, 32 × nlist)).
              ev add DIR --vectors FILE.fvecs|.npy|.bvecs [--ids FILE.ivecs|.npy | --id-start 0]
                     [--payloads FILE.jsonl] [--commit-every 10000] [--train-size N]
                  Streams the vectors in (any file size); row i gets id start+i, or the i-th id of --ids, and the
                  i-th line of --payloads (each line must be JSON). Trains first on a sample of the file when the
                  store is untrained and the file brings it to its training threshold. Prints 'committed N' after
                  every commit: what was committed survives a crash.
              ev search DIR --queries FILE [--k 10] [--nprobe 16] [--rerank 0] [--threads 0 (all cores)]
                        [--out results.ivecs] [--json]
                  Searches every query. --out writes each query's k ids, nearest first (.ivecs; .npy for 64-bit
                  ids); --json prints one JSON array a query, one line each, of {"id", "distance", "payload"};
                  otherwise prints the first queries' hits and the queries per second.
              ev get DIR ID               Prints an entry as JSON {"id", "payload", "vector"}.
              ev delete DIR ID...         Deletes entries and commits.
              ev compact DIR              Rewrites the segments without deleted entries; prints sizes before and after.
              ev info DIR [--json]        Counts, parameters and size on disk.
              ev verify DIR               Checks every checksum: prints "ok" (exit 0) or each problem (exit 1).
              ev bench DIR --queries Q --gt G.ivecs [--nprobe 1,2,4,…] [--rerank 0,…] [--k 10] [--threads 1]
                       [--json out.json]
                  Measures a store (ids must be the ground truth's row numbers): open time, recall@1, recall@10
                  and queries per second for each nprobe and rerank.

            In memory:
              ev bench --base B.fvecs --queries Q.fvecs --gt G.ivecs --index flat|ivf|pq|ivfpq
                       [--nlist 1024] [--m 48] [--nprobe 1,2,4,8,16,32,64] [--rerank 0] [--k 10]
                       [--threads 1] [--codes pq8|pq4fs] [--opq ROUNDS] [--metric l2|ip|cosine] [--train-size N] [--max-base N] [--json out.json]
                  Builds an index in memory and prints recall@1, recall@10 and queries per second
                  (one query at a time, and as a batch) for each nprobe, with training and add times.

              ev demo [--data DIR] [--keep DIR]
                  Builds an on-disk store from the sample shipped in samples/, reopens it and prints recall and
                  speed (in a temporary directory, deleted afterwards unless --keep DIR is given).
              ev help
            """;

        /// <summary>Runs one command; returns the process exit code (0 success, 1 failure, 2 usage error).</summary>
        public static int Run(string[] args)
        {
            ArgumentNullException.ThrowIfNull(args);
            // A console bound to the current Console.Out (which tests may have redirected), with colours only on a terminal.
            var output = new AnsiConsoleOutput(Console.Out);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = output,
                Ansi = output.IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = output.IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = output.IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            });
            // Into a file or a pipe, lines are not wrapped at 80 columns.
            if (!output.IsTerminal) AnsiConsole.Profile.Width = 1000;
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            try
            {
                var rest = args.Skip(1);
                return args[0] switch
                {
                    "create" => CreateCommand.Run(new CommandLine(rest, "no-vectors")),
                    "add" => AddCommand.Run(new CommandLine(rest)),
                    "search" => SearchCommand.Run(new CommandLine(rest, "json")),
                    "get" => GetCommand.Run(new CommandLine(rest)),
                    "delete" => DeleteCommand.Run(new CommandLine(rest)),
                    "compact" => CompactCommand.Run(new CommandLine(rest)),
                    "info" => InfoCommand.Run(new CommandLine(rest, "json")),
                    "verify" => VerifyCommand.Run(new CommandLine(rest)),
                    "bench" => BenchCommand.Run(new CommandLine(rest)),
                    "demo" => DemoCommand.Run(new CommandLine(rest)),
                    _ => throw new UserErrorException($"Unknown command '{args[0]}'. Run 'ev help'."),
                };
            }
            catch (UserErrorException e)
            {
                Console.Error.WriteLine($"ev: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is EmbeddedVectorsException or ArgumentException or InvalidOperationException
                or IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
            {
                Console.Error.WriteLine($"ev: {Describe(e)}");
                return 1;
            }
        }

        /// <summary>True when progress can be drawn live (an interactive terminal); otherwise commands print plain lines.</summary>
        internal static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Out.IsTerminal;

        /// <summary>The message without the " (Parameter 'x')" and "Actual value was" tails that mean nothing to a user.</summary>
        private static string Describe(Exception e)
        {
            string message = e.Message;
            if (e is ArgumentException { ParamName: { } name })
            {
                int tail = message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal);
                if (tail >= 0) message = message[..tail];
            }
            return message.ReplaceLineEndings(" ").Trim();
        }
    }
}
