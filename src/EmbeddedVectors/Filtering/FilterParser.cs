using System.Globalization;

namespace EmbeddedVectors;

/// <summary>
/// The text form of a <see cref="Filter"/>, shared by the CLI (<c>--where</c>) and the API:
/// <code>
/// expr       := or
/// or         := and (("or" | "||") and)*
/// and        := unary (("and" | "&amp;&amp;") unary)*
/// unary      := ("not" | "!") unary | "(" expr ")" | predicate
/// predicate  := NAME op literal | NAME ["not"] "in" "(" literal ("," literal)* ")"
///             | NAME "is" ["not"] "null" | NAME "contains" literal | NAME "contains" "any" "(" literals ")"
/// op         := "==" | "=" | "!=" | "&lt;&gt;" | "&lt;" | "&lt;=" | "&gt;" | "&gt;="
/// literal    := integer | decimal | 'text' | "text" | true | false
/// </code>
/// Keywords are case-insensitive; the name <c>id</c> is the entry's id. Dates are quoted ISO 8601 text.
/// </summary>
internal sealed class FilterParser
{
    private readonly string _text;
    private int _position;

    private FilterParser(string text) => _text = text;

    public static Filter Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new FilterParser(text);
        var filter = parser.Or();
        parser.SkipSpace();
        if (parser._position < text.Length) throw parser.Error("expected 'and', 'or' or the end of the filter");
        return filter;
    }

    private Filter Or()
    {
        var left = And();
        while (TakeWord("or") || TakeSymbol("||")) left |= And();
        return left;
    }

    private Filter And()
    {
        var left = Unary();
        while (TakeWord("and") || TakeSymbol("&&")) left &= Unary();
        return left;
    }

    private Filter Unary()
    {
        if (TakeWord("not") || (PeekSymbol("!") && !PeekSymbol("!=") && TakeSymbol("!"))) return !Unary();
        if (TakeSymbol("("))
        {
            var inner = Or();
            Expect(")");
            return inner;
        }
        return Predicate();
    }

    private Filter Predicate()
    {
        SkipSpace();
        int start = _position;
        string name = Name() ?? throw Error("expected a field name, 'not' or '('");
        bool isId = name == "id";
        if (TakeWord("is"))
        {
            bool negated = TakeWord("not");
            if (!TakeWord("null")) throw Error("expected 'null'");
            if (isId) throw new FilterSyntaxException($"id is never null (at position {start})", start);
            return negated ? Filter.Field(name).IsNotNull() : Filter.Field(name).IsNull();
        }
        if (TakeWord("contains"))
        {
            if (isId) throw new FilterSyntaxException($"id is not a tags field (at position {start})", start);
            if (TakeWord("any"))
            {
                var tags = new List<string>();
                foreach (var value in List()) tags.Add(value as string ?? throw Error("tags are quoted text"));
                return Filter.Tags(name).ContainsAny([.. tags]);
            }
            int at = _position;
            return Filter.Tags(name).Contains(Literal() as string ?? throw new FilterSyntaxException($"a tag is quoted text (at position {at})", at));
        }
        bool not = TakeWord("not");
        if (TakeWord("in"))
        {
            var values = List();
            Filter inFilter = isId ? Filter.Id([.. Ids(values, start)]) : Filter.Field(name).In([.. values]);
            return not ? !inFilter : inFilter;
        }
        if (not) throw Error("expected 'in' after 'not'");
        var op = Operator() ?? throw Error("expected a comparison (==, !=, <, <=, >, >=), 'in', 'is' or 'contains'");
        var literal = Literal();
        if (!isId) return Filter.Field(name).Compare(op, literal);
        long id = Ids([literal], start)[0];
        return Filter.Id(op, id);
    }

    private static List<long> Ids(List<object> values, int at)
    {
        var ids = new List<long>();
        foreach (var value in values)
            ids.Add(value is long id ? id : throw new FilterSyntaxException($"id is compared with integers (at position {at})", at));
        return ids;
    }

    private List<object> List()
    {
        Expect("(");
        var values = new List<object> { Literal() };
        while (TakeSymbol(",")) values.Add(Literal());
        Expect(")");
        return values;
    }

    private FilterOperator? Operator()
    {
        if (TakeSymbol("==") || TakeSymbol("=")) return FilterOperator.Equal;
        if (TakeSymbol("!=") || TakeSymbol("<>")) return FilterOperator.NotEqual;
        if (TakeSymbol("<=")) return FilterOperator.LessOrEqual;
        if (TakeSymbol(">=")) return FilterOperator.GreaterOrEqual;
        if (TakeSymbol("<")) return FilterOperator.Less;
        if (TakeSymbol(">")) return FilterOperator.Greater;
        return null;
    }

    private object Literal()
    {
        SkipSpace();
        if (_position >= _text.Length) throw Error("expected a value");
        char c = _text[_position];
        if (c is '\'' or '"')
        {
            int start = _position++;
            var text = new System.Text.StringBuilder();
            while (true)
            {
                if (_position >= _text.Length) throw new FilterSyntaxException($"unterminated text starting at position {start}", start);
                char d = _text[_position++];
                if (d == c)
                {
                    if (_position < _text.Length && _text[_position] == c) { text.Append(c); _position++; continue; }
                    return text.ToString();
                }
                text.Append(d);
            }
        }
        if (TakeWord("true")) return true;
        if (TakeWord("false")) return false;
        int numberStart = _position;
        if (c is '-' or '+') _position++;
        while (_position < _text.Length && (char.IsAsciiDigit(_text[_position]) || _text[_position] is '.' or 'e' or 'E'
               || (_text[_position] is '-' or '+' && _text[_position - 1] is 'e' or 'E'))) _position++;
        string number = _text[numberStart.._position];
        if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer)) return integer;
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double real) && double.IsFinite(real)) return real;
        _position = numberStart;
        throw Error("expected a value (a number, 'quoted text', true or false)");
    }

    private string? Name()
    {
        SkipSpace();
        int start = _position;
        if (_position >= _text.Length || !(char.IsAsciiLetter(_text[_position]) || _text[_position] == '_')) return null;
        while (_position < _text.Length && (char.IsAsciiLetterOrDigit(_text[_position]) || _text[_position] == '_')) _position++;
        return _text[start.._position];
    }

    private bool TakeWord(string word)
    {
        SkipSpace();
        int end = _position + word.Length;
        if (end > _text.Length || string.Compare(_text, _position, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) != 0) return false;
        if (end < _text.Length && (char.IsAsciiLetterOrDigit(_text[end]) || _text[end] == '_')) return false;
        _position = end;
        return true;
    }

    private bool PeekSymbol(string symbol)
    {
        SkipSpace();
        return string.CompareOrdinal(_text, _position, symbol, 0, symbol.Length) == 0 && _position + symbol.Length <= _text.Length;
    }

    private bool TakeSymbol(string symbol)
    {
        if (!PeekSymbol(symbol)) return false;
        _position += symbol.Length;
        return true;
    }

    private void Expect(string symbol)
    {
        if (!TakeSymbol(symbol)) throw Error($"expected '{symbol}'");
    }

    private void SkipSpace()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position])) _position++;
    }

    private FilterSyntaxException Error(string problem)
    {
        SkipSpace();
        string found = _position >= _text.Length ? "the end" : $"'{_text[_position..Math.Min(_text.Length, _position + 12)]}'";
        return new FilterSyntaxException($"{problem} at position {_position}, found {found}", _position);
    }
}
