//! Every string the window shows, in English and Simplified Chinese, from one table. A page
//! writes `T::Accounts.tr()`, or `T::ResetsIn.fill(&[&span])` for a string with `{}` holes.
//!
//! The current language is per UI thread: the app sets it at the start of every frame from
//! the `locale` setting (empty means the OS's language), so drawing code never passes it.

use std::cell::Cell;
use std::fmt::Display;

/// A language the window speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// Sets the language for what this thread draws next.
pub fn set_lang(lang: Lang) {
    LANG.with(|cell| cell.set(lang));
}

pub fn lang() -> Lang {
    LANG.with(Cell::get)
}

impl Lang {
    /// The `locale` setting's value: `zh-CN`, `en`, or empty for the OS's language.
    pub fn from_setting(value: &str) -> Option<Lang> {
        match value.trim() {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The OS's language (`LANG`/`LC_ALL` on Unix): Chinese for any `zh` locale, else English.
    pub fn system() -> Lang {
        Lang::from_locale(sys_locale::get_locale().as_deref().unwrap_or("en"))
    }

    pub fn from_locale(locale: &str) -> Lang {
        if locale.trim().to_ascii_lowercase().starts_with("zh") { Lang::Zh } else { Lang::En }
    }

    /// The language's name in itself.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }
}

macro_rules! table {
    ($($key:ident => $en:expr, $zh:expr;)*) => {
        /// A string of the window; see the module comment.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T {
            $($key,)*
        }

        impl T {
            /// The string in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((T::$key, Lang::En) => $en, (T::$key, Lang::Zh) => $zh,)*
                }
            }
        }
    };
}

impl T {
    /// The string in the current language.
    pub fn tr(self) -> &'static str {
        self.text(lang())
    }

    /// The string with each `{}` replaced by the next argument.
    pub fn fill(self, args: &[&dyn Display]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        let mut rest = self.tr();
        while let Some(at) = rest.find("{}") {
            out.push_str(&rest[..at]);
            match args.next() {
                Some(arg) => out.push_str(&arg.to_string()),
                None => out.push_str("{}"),
            }
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        out
    }
}

table! {
    Tagline => "Account pool · usage", "账号池 · 用量管理";
    Dashboard => "Dashboard", "仪表盘";
    Accounts => "Accounts", "账号管理";
    PlatformKeys => "Platform keys", "平台 Key";
    Logs => "Request logs", "请求日志";
    Settings => "Settings", "设置";

    DashboardSubtitle => "Service state, today's traffic and the pool's health", "服务状态、今日流量与账号池健康度";
    AccountsSubtitle => "Availability and quota of every account", "可用状态与用量概览";
    KeysSubtitle => "Keys that coding tools use to call the gateway", "编程工具调用网关所用的 Key";
    LogsSubtitle => "Every request: model, status, timing and tokens", "追踪每次请求的模型、状态码、耗时与 Token";
    SettingsSubtitle => "Service, routing, appearance and data", "服务、路由、外观与数据";

    Service => "Service", "服务";
    ServiceSubtitle => "Paste these base URLs into your clients", "将以下 Base URL 填入客户端";
    RunningOn => "Running · {}", "运行中 · {}";
    Starting => "Starting…", "正在启动…";
    Stopping => "Stopping…", "正在停止…";
    Stopped => "Stopped", "已停止";
    ServiceError => "Error", "出错";
    Copy => "Copy", "复制";
    CopyBaseUrl => "Copy the {} base URL", "复制 {} Base URL";
    Copied => "Copied {}", "已复制 {}";
    Today => "Today", "今日";
    TodaySubtitle => "Since local midnight", "自本地零点起";
    Requests => "Requests", "请求数";
    SuccessRate => "Success rate", "成功率";
    InputTokens => "Input tokens", "输入 Token";
    CachedTokens => "Cached tokens", "缓存 Token";
    OutputTokens => "Output tokens", "输出 Token";
    ReasoningTokens => "Reasoning tokens", "推理 Token";
    Traffic => "Traffic", "流量";
    Last24Hours => "24 hours", "24 小时";
    Last30Days => "30 days", "30 天";
    RequestsChart => "Requests", "请求数";
    TokensChart => "Tokens (input + output)", "Token（输入 + 输出）";
    Tokens => "Tokens", "Token";
    StatsFailed => "The statistics could not be loaded: {}", "统计数据加载失败：{}";
    PoolHealth => "Pool health", "账号池健康度";
    PoolHealthSubtitle => "Accounts by availability, and those closest to their limits", "按可用状态统计，以及最接近限额的账号";
    AccountsTotal => "{} accounts", "共 {} 个账号";
    Closest5h => "Closest to the 5-hour limit", "最接近 5 小时限额";
    ClosestWeekly => "Closest to the weekly limit", "最接近周限额";
    NoUsageYet => "No usage known yet", "暂无用量数据";
    ResetsIn => "resets in {}", "{}后重置";
    ResetDue => "reset due", "即将重置";

    Available => "Available", "可用";
    SingleWindow => "Single window", "单窗口可用";
    Unavailable => "Unavailable", "不可用";
    Unknown => "Unknown", "未知";
    ReasonDisabled => "disabled by you", "已手动禁用";
    Reason5h => "5-hour window used up", "5 小时额度已用完";
    ReasonWeekly => "weekly window used up", "周额度已用完";
    ReasonLimit => "usage limit reached", "已达用量上限";

    SearchAccounts => "Search label, email, id, tag…", "搜索账号名 / 邮箱 / ID / 标签…";
    AllGroups => "All groups ({})", "全部分组 ({})";
    GroupFilter => "Group filter", "分组筛选";
    All => "All", "全部";
    AddAccount => "Add account", "添加账号";
    SelectedN => "{} selected", "已选 {} 个";
    Enable => "Enable", "启用";
    Disable => "Disable", "禁用";
    MoveToGroup => "Move to group", "移动到分组";
    GroupName => "Group name", "分组名";
    Move => "Move", "移动";
    Delete => "Delete", "删除";
    ClearSelection => "Clear selection", "取消选择";
    EnabledN => "Enabled {} accounts", "已启用 {} 个账号";
    DisabledN => "Disabled {} accounts", "已禁用 {} 个账号";
    MovedN => "Moved {} accounts", "已移动 {} 个账号";
    DeletedN => "Deleted {} accounts", "已删除 {} 个账号";
    BulkFailed => "The change to the selected accounts failed", "批量操作失败";
    SortBy => "Sort by {}", "按{}排序";
    NoAccountsYet => "No accounts yet", "还没有账号";
    NoAccountsHint => "Sign in with a ChatGPT account, or import its auth.json files (a whole folder works too).", "使用 ChatGPT 账号登录，或导入其 auth.json 文件（也可导入整个文件夹）。";
    ShowingN => "Showing {} of {} accounts", "显示 {} / {} 个账号";
    NoMatches => "No account matches", "没有匹配的账号";
    NoMatchesHint => "Change the search or the filters above.", "请调整上方的搜索或筛选条件。";
    SelectAll => "Select all shown", "全选当前列表";
    SelectAccount => "Select {}", "选择 {}";
    Account => "Account", "账号";
    Group => "Group", "分组";
    Tags => "Tags", "标签";
    GroupTags => "Group · tags", "分组 · 标签";
    Plan => "Plan", "套餐";
    Window5h => "5h", "5小时";
    Window7d => "7d", "7天";
    Status => "Status", "状态";
    Order => "Order", "顺序";
    Note => "Note", "备注";
    Actions => "Actions", "操作";
    Edit => "Edit", "编辑";
    EditAccount => "Edit {}", "编辑 {}";
    DeleteAccountsTitle => "Delete {} accounts?", "删除 {} 个账号？";
    DeleteAccountTitle => "Delete this account?", "删除此账号？";
    DeleteAccountsBody => "Their tokens and usage are removed from this machine. This cannot be undone.", "其令牌与用量数据将从本机删除，此操作无法撤销。";
    Cancel => "Cancel", "取消";

    ImportFiles => "Import files", "导入文件";
    SignIn => "Sign in", "登录授权";
    SignInBrowser => "Browser", "浏览器";
    SignInPaste => "Paste callback", "手动回调";
    SignInDevice => "Device code", "设备码";
    SignInBrowserHelp => "Opens the ChatGPT sign-in page; after you sign in, the browser comes back to this app and the account is added.", "打开 ChatGPT 登录页；登录后浏览器会回到本应用并添加账号。";
    SignInPasteHelp => "For a browser that cannot reach this machine: open the address, sign in, then paste the address the browser ended on (or just its code).", "浏览器无法访问本机时：打开链接并登录，然后粘贴浏览器最后停留的地址（或其中的 code）。";
    SignInDeviceHelp => "For machines without a browser: open the page on any device and enter the code.", "适用于无浏览器的机器：在任意设备上打开页面并输入代码。";
    StartSignIn => "Start sign-in", "开始登录";
    OpenInBrowser => "Open in browser", "在浏览器中打开";
    SignInAddress => "Sign-in address", "登录地址";
    PastedAddress => "Address the browser ended on", "浏览器最后停留的地址";
    PastedHint => "http://localhost:1455/auth/callback?code=…&state=…", "http://localhost:1455/auth/callback?code=…&state=…";
    CompleteSignIn => "Complete sign-in", "完成登录";
    DeviceCodeIs => "Enter this code:", "输入此代码：";
    DevicePage => "on this page:", "页面：";
    WaitingForSignIn => "Waiting for the sign-in…", "等待登录完成…";
    SignedIn => "Signed in: the account was added.", "登录成功，账号已添加。";
    SignInEnded => "The sign-in ended: {}", "登录已结束：{}";
    SignInExpired => "The sign-in expired after 15 minutes; start again.", "登录已超过 15 分钟失效，请重新开始。";
    SignInCancelled => "The sign-in was cancelled.", "登录已取消。";
    RefreshAll => "Refresh all", "刷新所有";
    RefreshUsage => "Refresh usage", "刷新用量";
    RefreshProgress => "Refreshing usage: {} done, {} remaining", "正在刷新用量：已完成 {}，剩余 {}";
    RefreshDone => "Usage refreshed: {} accounts, {} failed", "用量已刷新：{} 个账号，失败 {} 个";
    ImportHelp => "Import Codex auth.json files, arrays or streams of them, or whole folders (searched for .json files).", "导入 Codex 的 auth.json 文件、其数组或流，或整个文件夹（查找其中的 .json 文件）。";
    ChooseFiles => "Choose files…", "选择文件…";
    ChooseFolder => "Choose folder…", "选择文件夹…";
    Importing => "Importing…", "正在导入…";
    OrTypePaths => "Or type or paste paths, one per line:", "或输入/粘贴路径，每行一个：";
    PathsHint => "/home/me/.codex/auth.json", "/home/me/.codex/auth.json";
    ImportPaths => "Import paths", "导入这些路径";
    NoFileChooser => "No file chooser is available here (no desktop portal on the session bus, and no zenity). Type or paste the paths into the field below instead.", "此系统没有可用的文件选择器（会话总线上没有桌面门户，也没有 zenity）。请在下方输入或粘贴路径。";
    ImportFailed => "Import failed: {}", "导入失败：{}";
    ImportedN => "Imported: {} new, {} updated", "导入完成：新增 {}，更新 {}";
    ImportReport => "Found {} accounts: {} new, {} updated, {} skipped", "共发现 {} 个账号：新增 {}，更新 {}，跳过 {}";
    Close => "Close", "关闭";
    Label => "Label", "名称";
    TagsHint => "Comma-separated, e.g. team, backup", "用逗号分隔，如 team, backup";
    OrderHint => "Lower numbers are tried first by ordered routing", "顺序路由时数字小的优先";
    Save => "Save", "保存";
    Saved => "Saved", "已保存";
    SaveFailed => "Saving failed: {}", "保存失败：{}";
    SaveSettingsFailed => "The settings could not be saved", "设置保存失败";

    KeysHelp => "Create and manage the keys your tools call the gateway with", "创建/管理网关调用所需的 Key";
    CreateKey => "Create key", "创建 Key";
    NoKeysYet => "No keys yet", "还没有 Key";
    NoKeysHint => "Create a key, then paste it into Codex CLI, Claude Code or any OpenAI client.", "创建一个 Key，再填入 Codex CLI、Claude Code 或任意 OpenAI 客户端。";
    Name => "Name", "名称";
    KeyPrefix => "Key", "Key";
    Protocol => "Protocol", "协议";
    ModelBinding => "Model binding", "绑定模型";
    CreatedLastUsed => "Created / last used", "创建 / 最近使用";
    RequestsTokens => "Use", "用量";
    Enabled => "Enabled", "启用";
    Disabled => "Disabled", "禁用";
    Never => "never used", "从未使用";
    NRequests => "{} requests", "{} 次请求";
    NTokens => "{} tokens", "{} Token";
    SetUp => "Set up", "接入";
    SetUpHint => "Client set-up snippets for this key", "此 Key 的客户端接入配置";
    AnyModel => "Any model", "不限模型";
    BindModelHelp => "Every request made with this key will use this model.", "使用此 Key 的请求都将改用该模型。";
    ModelHint => "e.g. gpt-5-codex (empty: any)", "如 gpt-5-codex（留空则不限）";
    DeleteKeyTitle => "Delete the key “{}”?", "删除 Key “{}”？";
    DeleteKeyBody => "Tools using it will be refused from now on. This cannot be undone.", "使用它的工具将被拒绝访问，此操作无法撤销。";
    KeyUsageFailed => "The key statistics could not be loaded", "Key 用量统计加载失败";
    KeyActionFailed => "The key could not be changed", "Key 修改失败";
    ProtocolOpenai => "OpenAI compatible", "OpenAI 兼容";
    ProtocolOpenaiShort => "OpenAI", "OpenAI";
    ProtocolAnthropicShort => "Anthropic", "Anthropic";
    ProtocolAnthropic => "Anthropic (Claude Code)", "Anthropic（Claude Code）";
    ProtocolAzure => "Azure OpenAI", "Azure OpenAI";
    KeyNameHint => "e.g. laptop-codex", "如 laptop-codex";
    AzureEndpoint => "Azure endpoint", "Azure 端点";
    AzureApiKey => "Azure API key", "Azure API Key";
    AzureApiVersion => "API version", "API 版本";
    AzureApiVersionHint => "optional (default: the current preview)", "可选（默认当前预览版）";
    ModelBindingHelp => "A model binding forces every request made with the key onto that model.", "绑定模型后，使用此 Key 的所有请求都将使用该模型。";
    Create => "Create", "创建";
    CreateKeyFailed => "The key could not be created: {}", "Key 创建失败：{}";
    KeyCreated => "Key “{}” created", "已创建 Key “{}”";
    KeyShownOnce => "Copy the key now: it is shown only this once. Only its prefix is kept.", "请立即复制：此 Key 只显示这一次，之后只保留前缀。";
    CopyKey => "Copy key", "复制 Key";
    KeyCopied => "Key copied", "Key 已复制";
    SetUpClients => "Set up your clients", "配置客户端";
    Done => "Done", "完成";
    SetUpTitle => "Set up clients for “{}”", "为 “{}” 配置客户端";
    OpenAiClient => "OpenAI clients", "OpenAI 客户端";
    CopySnippet => "Copy snippet", "复制配置";
    SnippetPlaceholderNote => "Replace <your key> with the key shown when it was created.", "请将 <your key> 替换为创建时显示的 Key。";

    AllTime => "All time", "全部时间";
    TimeRangeLabel => "Time range", "时间范围";
    Last30Min => "30 minutes", "30 分钟";
    Last2Hours => "2 hours", "2 小时";
    TodayRange => "Today", "今天";
    CustomRange => "Custom…", "自定义…";
    From => "From YYYY-MM-DD HH:MM", "开始 YYYY-MM-DD HH:MM";
    To => "To YYYY-MM-DD HH:MM", "结束 YYYY-MM-DD HH:MM";
    SearchLogs => "Search, e.g. status:429 method:POST key:NAME account:… model:…", "搜索，支持 status:429 method:POST key:名称 account:… model:…";
    ClearLogs => "Clear logs", "清空日志";
    Refresh => "Refresh", "刷新";
    BadDate => "“{}” is not a date and time like 2026-03-10 14:30", "“{}” 不是形如 2026-03-10 14:30 的日期时间";
    RangeBackwards => "The end of the range is before its start", "结束时间早于开始时间";
    NRows => "{} requests", "{} 条请求";
    NoLogs => "No requests here", "没有请求记录";
    NoLogsHint => "Requests through the gateway appear here; widen the filters to see more.", "经网关的请求会显示在这里；放宽筛选条件可查看更多。";
    LogsFailed => "The request log could not be read", "请求日志读取失败";
    LogsCleared => "Cleared {} log rows", "已清空 {} 条日志";
    ClearLogsFailed => "The logs could not be cleared", "日志清空失败";
    ClearLogsTitle => "Clear the request log?", "清空请求日志？";
    ClearLogsBody => "Every logged request is deleted, and the dashboard's history with it. This cannot be undone.", "所有请求记录将被删除，仪表盘的历史统计也随之清空。此操作无法撤销。";
    Time => "Time", "时间";
    Key => "Key", "Key";
    Path => "Path", "路径";
    Model => "Model", "模型";
    Effort => "Effort", "推理等级";
    Duration => "Duration", "耗时";
    FirstByte => "First byte", "首字节";
    Method => "Method", "方法";
    Attempts => "Attempts", "尝试次数";
    Error => "Error", "错误";
    RequestDetails => "Request details", "请求详情";

    ServiceSettingsSubtitle => "The local gateway and its address", "本地网关及其地址";
    StartService => "Start service", "启动服务";
    StopService => "Stop service", "停止服务";
    ServiceAddress => "Listen address (host:port)", "监听地址（host:port）";
    ApplyRestart => "Apply & restart", "应用并重启";
    ApplyRestartHint => "Save the address and restart the service on it", "保存地址并在该地址上重启服务";
    SetByEnv => "Set by the environment variable {}", "由环境变量 {} 设定";
    Gateway => "Gateway", "网关策略";
    GatewaySubtitle => "How requests are spread over the accounts", "请求如何分配到各账号";
    RouteStrategy => "Route strategy", "网关选路策略";
    RouteOrdered => "Ordered", "顺序优先";
    RouteBalanced => "Balanced", "均衡轮询";
    RouteOrderedHelp => "Accounts are tried in their order; the next one takes over when one fails.", "按账号顺序优先请求，失败后再切换到下一个账号。";
    RouteBalancedHelp => "The starting account rotates per key and model, spreading the load.", "每个 Key 与模型的起始账号轮换，分散负载。";
    MaxInflight => "Max in-flight per account", "单账号最大并发";
    MaxInflightHelp => "0 means no limit.", "0 表示不限制。";
    PollInterval => "Usage poll interval", "用量轮询间隔";
    PollIntervalHelp => "How often each account's quota is read (30 s at least).", "每个账号额度的查询间隔（至少 30 秒）。";
    Revert => "Revert", "还原";
    Appearance => "Appearance", "外观";
    AppearanceSubtitle => "Language, theme and the window's close button", "语言、主题与窗口关闭行为";
    Language => "Language", "语言";
    FollowSystemLang => "System ({})", "跟随系统（{}）";
    NoCjkFont => "No Chinese font was found on this system; install Noto Sans CJK or WenQuanYi to read Chinese.", "系统中未找到中文字体；请安装 Noto Sans CJK 或文泉驿字体以显示中文。";
    Theme => "Theme", "主题";
    FollowSystem => "System", "跟随系统";
    Light => "Light", "浅色";
    Dark => "Dark", "深色";
    CloseToTray => "Closing the window hides it to the tray", "关闭窗口时最小化到托盘";
    CloseToTrayHelp => "The gateway keeps serving; use Quit in the tray menu to exit.", "网关继续服务；在托盘菜单中选择“退出”以结束程序。";
    NoTrayNote => "No system tray is available here, so closing the window quits.", "此系统没有可用的托盘，关闭窗口将直接退出。";
    DataSecurity => "Data & security", "数据与安全";
    DataSecuritySubtitle => "Where everything is kept", "数据的存放位置";
    DataFolder => "Data folder", "数据目录";
    LocationExplicit => "Chosen by CODEXMANAGER_DB_PATH", "由 CODEXMANAGER_DB_PATH 指定";
    LocationPortable => "Portable mode: beside the executable", "便携模式：位于程序旁";
    LocationOs => "The system's per-user data folder", "系统的用户数据目录";
    LocationBeside => "Beside the executable (no home folder found)", "位于程序旁（未找到用户主目录）";
    OpenFolder => "Open folder", "打开目录";
    OpenFolderFailed => "The folder could not be opened", "无法打开目录";
    SecretStore => "Master key in", "主密钥存放于";
    RpcToken => "RPC token", "RPC 令牌";
    Show => "Show", "显示";
    Hide => "Hide", "隐藏";
    TokenCopied => "RPC token copied", "RPC 令牌已复制";
    TokenNotYet => "Created when the service first starts", "服务首次启动时生成";
    Version => "Version", "版本";

    Running => "Running", "运行中";
    SetUpKey => "Set up {}", "接入 {}";
    CopyPath => "Copy the path", "复制路径";
    KeyNameMissing => "Give the key a name, e.g. the tool or machine it is for.", "请为 Key 命名，例如所用的工具或机器。";
    KeyProtocolWrong => "Choose OpenAI compatible, Anthropic or Azure OpenAI.", "请选择 OpenAI 兼容、Anthropic 或 Azure OpenAI。";
    AzureEndpointMissing => "Enter the Azure endpoint, e.g. https://NAME.openai.azure.com.", "请填写 Azure 端点，例如 https://NAME.openai.azure.com。";
    AzureEndpointNotUrl => "“{}” is not a web address: start it with https://, e.g. https://NAME.openai.azure.com.", "“{}” 不是网址：请以 https:// 开头，例如 https://NAME.openai.azure.com。";
    AzureApiKeyMissing => "Enter the Azure API key (in the Azure portal: the resource, then Keys and Endpoint).", "请填写 Azure API Key（Azure 门户中该资源的“密钥和终结点”）。";
    CreatedHeader => "Created", "创建";
    LastUsedHeader => "last used", "最近使用";
    FirstSteps => "Get started", "开始使用";
    FirstStepsSubtitle => "Three steps to send a tool's requests through the pool", "三步让工具的请求经过账号池";
    StepAccount => "Add an account: sign in, or import auth.json files", "添加账号：登录授权，或导入 auth.json 文件";
    StepKey => "Create a platform key for your tool", "为工具创建平台 Key";
    StepTool => "Paste the base URL and the key into your tool (the Set up button on Platform keys has the snippets)", "将 Base URL 与 Key 填入工具（平台 Key 页的“接入”按钮提供配置片段）";
    StepDone => "Done", "完成";
    StartAtLogin => "Start at login, hidden in the tray", "登录时启动并隐藏到托盘";
    StartAtLoginHelp => "Registers this program with the system (XDG autostart, a LaunchAgent or the Windows Run key); unticking removes it. Without a tray the window opens instead.", "在系统中登记本程序（XDG 自启动、LaunchAgent 或 Windows Run 注册表项）；取消勾选即移除。没有托盘时会直接打开窗口。";
    StartAtLoginFailed => "Start at login could not be changed", "无法修改登录时启动";
    UrlsWhenStopped => "The service is stopped: these addresses answer only once it is started.", "服务已停止：启动后这些地址才可访问。";
    Accent => "Accent colour", "主题配色";
    KeyInKeyring => "the OS keyring", "系统密钥环";
    KeyInFile => "the key file {}", "密钥文件 {}";
    NoFileManager => "No program to open folders was found on this system. The folder is {} (copy it from the line above).", "系统中没有可打开文件夹的程序。文件夹位于 {}（可从上方复制路径）。";
    GatewaySwitch => "Gateway service", "网关服务";
    LowQuota => "Low quota", "低配额";
    Import => "Import", "导入";
    Export => "Export", "导出";
    ExportAllHint => "Write every account with its tokens to a file or a folder", "将所有账号及其令牌写入文件或文件夹";
    ExportTitle => "Export {} accounts", "导出 {} 个账号";
    ExportPlaintext => "The export holds the accounts' tokens in plain text: anyone with the file can use the accounts. Keep it as safe as the accounts.", "导出文件以明文保存账号令牌，拿到文件的人即可使用这些账号，请妥善保管。";
    ExportWhere => "Where to: a folder gets one auth.json-style file per account; any other path gets one file with a JSON array.", "导出位置：文件夹中每个账号一个 auth.json 格式的文件；其他路径则写入一个包含 JSON 数组的文件。";
    ExportPathHint => "/home/me/codexmanager-accounts.json", "/home/me/codexmanager-accounts.json";
    ExportFailed => "The export failed: {}", "导出失败：{}";
    ExportedN => "Exported {} accounts to {}", "已导出 {} 个账号到 {}";
    SaveAs => "Save as…", "另存为…";
    NoFileChooserExport => "No file chooser is available here (no desktop portal on the session bus, and no zenity). Type the path in the field above instead.", "此系统没有可用的文件选择器（会话总线上没有桌面门户，也没有 zenity）。请在上方输入框中输入路径。";
    NothingImported => "Nothing was imported: {} files or entries could not be read (listed below).", "没有导入任何账号：{} 个文件或条目无法读取（见下方列表）。";
    NoSuchPath => "no such file or folder; check the path", "文件或文件夹不存在，请检查路径";
    NoJsonValue => "the file is empty; an account file holds a JSON object with its tokens", "文件为空；账号文件应包含带 tokens 的 JSON 对象";
    NotAnAccountObject => "not an account: expected a JSON object with its tokens", "不是账号：应为带 tokens 的 JSON 对象";
    NoAccessToken => "no access_token found (expected `tokens.access_token` or `access_token`)", "未找到 access_token（应为 `tokens.access_token` 或 `access_token`）";
    NotValidJson => "not valid JSON ({}); check that it is an auth.json file", "不是有效的 JSON（{}）；请确认这是 auth.json 文件";
    HiddenSelected => "({} more selected but hidden by the filters: left out)", "（另有 {} 个已选账号被筛选隐藏，不受影响）";
    HiddenNotDeleted => "{} more selected accounts are hidden by the filters and are not deleted.", "另有 {} 个已选账号被筛选隐藏，不会被删除。";
    DeleteAccount => "Delete {}", "删除 {}";
    RefreshRow => "Refresh", "刷新";
    RefreshUsageOf => "Fetch the usage of {} now", "立即查询 {} 的用量";
    RefreshDoneSkipped => "Usage refreshed: {} accounts, {} failed; {} skipped (disabled or signed out: enable them or sign in again)", "用量已刷新：{} 个账号，失败 {} 个；跳过 {} 个（已禁用或已失效：请启用或重新登录）";
    LastRefreshed => "Refreshed", "最近刷新";
    NeverRefreshed => "not yet", "尚未刷新";
    EmailSignIn => "Email", "邮箱";
    SignInAndId => "Signs in with {} · id {}", "登录方式：{} · ID {}";
    OrderOf => "Order of {}", "{} 的顺序";
    SignInChatGpt => "Sign in with ChatGPT", "使用 ChatGPT 登录";
    KeyNotCopied => "The key was not copied. Once this dialog closes it cannot be shown again: tools need a new key then.", "Key 尚未复制。关闭此窗口后将无法再次显示，届时需要重新创建 Key。";
    CloseWithoutCopying => "Close without copying", "不复制直接关闭";
    Back => "Back", "返回";
    KnownModels => "Known models…", "已知模型…";
    PaletteAmber => "Amber", "商务金";
    PaletteBlue => "Blue", "科技蓝";
    PaletteGreen => "Green", "松林绿";
    PalettePurple => "Purple", "葡萄紫";
    PaletteRose => "Rose", "玫瑰粉";
    PaletteSlate => "Slate", "石板灰";

    Proxy => "Proxy", "代理";
    ProxyNotUrl => "Not a proxy address: write it as scheme://[user:password@]host:port, e.g. {}", "不是代理地址：请写成 scheme://[用户名:密码@]主机:端口，例如 {}";
    ProxyScheme => "“{}” proxies are not supported: use http://, https://, socks5:// or socks5h:// (socks5h resolves names at the proxy)", "不支持 “{}” 代理：请使用 http://、https://、socks5:// 或 socks5h://（socks5h 由代理解析域名）";
    ProxyTypeFirst => "Type the proxy's address first, e.g. {}", "请先填写代理地址，例如 {}";
    ProxySystem => "System settings", "系统设置";
    ProxyGlobal => "Global setting", "全局设置";
    ProxyDirect => "Direct", "直连";
    ProxyOwn => "Own proxy", "独立代理";
    ProxyUrl => "Proxy address", "代理地址";
    TestProxy => "Test", "测试";
    TestProxyHint => "Check that the upstream answers through this route", "检查经此线路能否连到上游";
    ProxyKeepsStored => "Leave empty to keep the stored proxy (its password stays hidden).", "留空则保留已保存的代理（密码不显示）。";
    ProxySystemHelp => "No global proxy: the system's proxy settings apply (HTTPS_PROXY, ALL_PROXY, the OS proxy), else direct.", "不设全局代理：使用系统代理设置（HTTPS_PROXY、ALL_PROXY 或操作系统代理），否则直连。";
    ProxyGlobalHelp => "Uses the upstream proxy set under Gateway in Settings, else the system's settings.", "使用“设置”中“网关策略”的上游代理，未设置则使用系统代理设置。";
    ProxyReached => "Reached the upstream through {} in {} ms{}", "经 {} 连到上游，用时 {} ms{}";
    ProxyNotReached => "Not reachable through {}: {}", "经 {} 无法连通：{}";
    ProxyUnreachable => "proxy unreachable", "代理不可达";
    ProxyBadCredentials => "the proxy refused the user name or password", "代理拒绝了用户名或密码";
    ProxyRefused => "nothing answers at the proxy's address (connection refused)", "代理地址无响应（连接被拒绝）";
    ProxyTimeout => "the proxy did not answer in time", "代理响应超时";
    ProxyBadge => "Proxy", "代理";
    ProxyOf => "Proxy: {}", "代理：{}";
    ProxyDirectHelp => "Direct: no proxy for this account, whatever the global setting says", "直连：此账号不使用代理，忽略全局设置";
    SetProxy => "Set proxy", "设置代理";
    SetProxyHelp => "For the selected accounts shown:", "应用到当前显示的已选账号：";
    UseThisProxy => "Use this proxy", "使用此代理";
    ProxySetN => "Proxy set for {} accounts", "已为 {} 个账号设置代理";
    UpstreamProxy => "Upstream proxy", "上游代理";
    UpstreamProxyHelp => "For every account without a proxy of its own", "用于所有未设独立代理的账号";
    SaveProxy => "Save proxy", "保存代理";
    CoolingDown => "Cooling down", "冷却中";
    CoolingUntil => "until {}: {}", "至 {}：{}";
    SignInThrough => "Sign in through", "登录线路";

    Per5h => "per 5 hours", "每 5 小时";
    PerDay => "per day", "每天";
    PerWeek => "per week", "每周";
    PerMonth => "per 30 days", "每 30 天";
    DayShort => "day", "天";
    WeekShort => "week", "周";
    MonthShort => "month", "月";
    LimitCountWrong => "Write a whole number above 0, e.g. 500.", "请填写大于 0 的整数，例如 500。";
    RequestLimits => "Request limits", "请求数限额";
    TokenLimits => "Token limits", "Token 限额";
    Expires => "Expires", "到期时间";
    AllowedModels => "Allowed models", "允许的模型";
    ReasoningEffort => "Reasoning effort", "推理等级";
    AccountGroups => "Account groups", "账号分组";
    MaxConcurrent => "Max concurrent requests", "最大并发请求";
    MaxConcurrentHelp => "0 means no cap.", "0 表示不限制。";
    LimitWindow => "Limit window", "限额周期";
    Remove => "Remove", "移除";
    AddRequestLimit => "Add a request limit", "添加请求数限额";
    AddTokenLimit => "Add a token limit", "添加 Token 限额";
    NoLimit => "No limit", "不限";
    ExpiresNever => "never", "永不过期";
    NeverButton => "Never", "永不";
    InDays => "+{} days", "{} 天后";
    ExpiresHelp => "Local time, YYYY-MM-DD HH:MM; empty: never.", "本地时间，格式 YYYY-MM-DD HH:MM；留空则永不过期。";
    AnyModelHint => "any model (or e.g. gpt-5, gpt-5-codex)", "不限模型（或如 gpt-5, gpt-5-codex）";
    AddKnownModel => "Add a known model…", "添加已知模型…";
    EffortClient => "What the client sends", "由客户端决定";
    EffortHelp => "A bound effort replaces what the client asks for.", "绑定后将覆盖客户端请求的推理等级。";
    AnyGroupHelp => "None ticked: the key may use every account.", "未勾选：可使用所有账号。";
    GroupsHelp => "The key uses only accounts in the ticked groups, failover included.", "此 Key 只使用所勾选分组中的账号（故障切换也不例外）。";
    MoreLimits => "+{} more limits", "另有 {} 项限额";
    ReqShort => "req", "次";
    TokShort => "tok", "Token";
    FreesAt => "frees {}", "{} 恢复";
    AnyGroup => "Any group", "不限分组";
    NoCap => "no cap", "不限";

    KeyDetailsTitle => "“{}”: use and limits", "“{}”：用量与限额";
    Limits => "Limits", "限额";
    KeyUse => "Use over time", "用量趋势";
    KeyUsageLoadFailed => "The key's use could not be read: {}", "无法读取此 Key 的用量：{}";
    KeyUseTotals => "{} requests · {} tokens · {} errors", "{} 次请求 · {} Token · {} 次错误";
    Details => "Details", "详情";
    DetailsOf => "Details of {}", "{} 的详情";
    EditKeyTitle => "Edit key “{}”", "编辑 Key “{}”";
    Expired => "Expired", "已过期";
    PolicySection => "Limits, expiry and scope (optional)", "限额、到期与范围（可选）";
    NameKey => "Name · key", "名称 · Key";

    LogRetention => "Keep request logs (days)", "请求日志保留天数";
    LogRetentionHelp => "0 keeps them all; the charts keep a year.", "0 表示全部保留；图表数据保留一年。";
    LogMaxRows => "Request log rows at most", "请求日志最多行数";
    LogMaxRowsHelp => "0 means no limit.", "0 表示不限制。";
    RequestId => "Request id", "请求 ID";
    Instance => "Instance", "实例";
    QuotaGuard5h => "Quota guard, 5-hour window", "额度保护（5 小时窗口）";
    QuotaGuard5hHelp => "An account used this much of its 5-hour window is tried only after every account below it.", "5 小时窗口用量达到此值的账号，排在所有低于此值的账号之后再尝试。";
    QuotaGuard7d => "Quota guard, weekly window", "额度保护（每周窗口）";
    QuotaGuard7dHelp => "The same for the weekly window. 100 % turns a guard off.", "每周窗口同理。设为 100 % 即关闭该保护。";

    LanTitle => "Open the gateway to other machines?", "向其他机器开放网关？";
    LanBody => "Listening on {} lets every machine that can reach this one call the gateway. Each gateway route still needs a platform key; /rpc and /metrics still answer only this machine (unless CODEXMANAGER_RPC_ALLOW_REMOTE=1), and remote callers of /health learn only that it is up. The traffic is plain HTTP: beyond a trusted LAN, put a TLS reverse proxy in front.", "监听 {} 后，所有能访问本机的机器都能调用网关。每个网关路由仍需平台 Key；/rpc 与 /metrics 仍只响应本机（除非设置 CODEXMANAGER_RPC_ALLOW_REMOTE=1），远程访问 /health 只能得知服务在运行。流量为明文 HTTP：超出可信局域网时，请在前面加一层 TLS 反向代理。";
    LanAction => "Listen on the network", "在网络上监听";

    Dismiss => "Dismiss", "关闭";
    TaskLost => "the background task stopped unexpectedly", "后台任务意外终止";
    ShowWindow => "Show window", "显示窗口";
    HideWindow => "Hide window", "隐藏窗口";
    TrayRunning => "Gateway: running on {}", "网关：运行于 {}";
    TrayStarting => "Gateway: starting…", "网关：正在启动…";
    TrayStopping => "Gateway: stopping…", "网关：正在停止…";
    TrayStopped => "Gateway: stopped", "网关：已停止";
    TrayFailed => "Gateway: failed to start", "网关：启动失败";
    CopyOpenAiUrl => "Copy base URL", "复制 Base URL";
    Quit => "Quit", "退出";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_holes_in_order() {
        set_lang(Lang::En);
        assert_eq!(T::ShowingN.fill(&[&3, &10]), "Showing 3 of 10 accounts");
        set_lang(Lang::Zh);
        assert_eq!(T::ShowingN.fill(&[&3, &10]), "显示 3 / 10 个账号");
        set_lang(Lang::En);
    }

    #[test]
    fn locales_map_to_languages() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh-Hans-CN"), Lang::Zh);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("de-DE"), Lang::En);
        assert_eq!(Lang::from_setting(""), None);
        assert_eq!(Lang::from_setting("zh-CN"), Some(Lang::Zh));
    }
}
