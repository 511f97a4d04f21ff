using EmbeddedVectors.Cli;
using EmbeddedVectors.Cli.Commands;

return CliApp.Run(args);

namespace EmbeddedVectors.Cli
{
    internal static class CliApp
    {
        private const string Usage = """
            ev — EmbeddedVectors command-line tool

            Commands:
              ev bench --base B.fvecs --queries Q.fvecs --gt G.ivecs --index flat|ivf|pq|ivfpq
                       [--nlist 1024] [--m 48] [--nprobe 1,2,4,8,16,32,64] [--rerank 0] [--k 10]
                       [--threads 1] [--metric l2|ip|cosine] [--train-size N] [--max-base N] [--json out.json]
                  Builds an index in memory and prints recall@1, recall@10 and queries per second
                  (one query at a time, and as a batch) for each nprobe, with training and add times.
              ev demo [--data DIR]
                  Builds an index from the sample shipped in samples/ and prints recall and speed.
              ev help
            """;

        public static int Run(string[] args)
        {
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
            catch (Exception e) when (e is EmbeddedVectorsException or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ev: {e.Message}");
                return 1;
            }
        }
    }
}
