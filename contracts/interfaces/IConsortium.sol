// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IConsortium
/// @notice The consortium registry: member organisations (with their public encryption key and
/// peer endpoint), auditors, preprocessing services and the field moduli sessions may use.
/// @dev An address holds at most one member role: org, auditor or preprocessing service (or
/// none). The admin offboards a member (`offboard`); an offboarded account is retired and can
/// never be registered again. Allowed moduli are permanent. Besides the errors below, the
/// registry reverts with the shared `ZeroAddress`, `UnknownOrg`, `InvalidModulus` and
/// `EmptyField`, and with OpenZeppelin's AccessControl errors for the admin handover.
interface IConsortium {
    /// @notice The caller is not the admin.
    error NotAdmin(address caller);
    /// @notice The account is already registered as an org, an auditor or a service.
    error AlreadyRegistered(address account);
    /// @notice The session manager is already set; it cannot be replaced.
    error SessionManagerAlreadySet(address current);
    /// @notice `orgAt` was called with an index past the end of the org list.
    error IndexOutOfRange(uint256 index, uint256 count);
    /// @notice The modulus is already on the allow-list.
    error ModulusAlreadyAllowed(uint256 modulus);
    /// @notice `offboard` of an account that holds no member role.
    error NotAMember(address account);
    /// @notice A member role was granted, revoked or renounced through AccessControl directly;
    /// it changes only through the register functions and `offboard`.
    error MembershipRole(bytes32 role);

    /// @notice An organisation was registered.
    event OrgRegistered(address indexed org, string name, bytes32 encryptionKey, string endpoint);
    /// @notice An auditor was registered.
    event AuditorRegistered(address indexed auditor);
    /// @notice A preprocessing service was registered.
    event ServiceRegistered(address indexed service, string name);
    /// @notice A field modulus was added to the allow-list.
    event ModulusAllowed(uint256 modulus);
    /// @notice The session manager was linked to this registry.
    event SessionManagerSet(address indexed manager);
    /// @notice A member (org, auditor or service) was offboarded; its account is retired.
    event MemberOffboarded(address indexed account, bytes32 role);
    /// @notice An org published a new public encryption key (for material dealt from now on).
    event OrgKeyRotated(address indexed org, bytes32 encryptionKey);
    /// @notice An org moved its peer endpoint.
    event OrgEndpointChanged(address indexed org, string endpoint);

    /// @notice Registers an organisation. Admin only.
    /// @param org The organisation's Ethereum address.
    /// @param name A human-readable name; must not be empty.
    /// @param encryptionKey The org's public key for encrypted preprocessing material; nonzero.
    /// @param endpoint The org's peer endpoint (for example `host:port`); must not be empty.
    function registerOrg(
        address org,
        string calldata name,
        bytes32 encryptionKey,
        string calldata endpoint
    ) external;

    /// @notice Links the consortium's session manager, once. Admin only.
    /// @param manager The SessionManager contract's address; nonzero.
    function setSessionManager(address manager) external;

    /// @notice Registers an auditor. Admin only.
    /// @param auditor The auditor's Ethereum address.
    function registerAuditor(address auditor) external;

    /// @notice Registers a preprocessing service (the off-chain dealer of a session's
    /// material). Admin only. A service can be named as a session's preprocessor; it holds no
    /// other role, so it is never a participant.
    /// @param service The service's Ethereum address.
    /// @param name A human-readable name; must not be empty.
    function registerService(address service, string calldata name) external;

    /// @notice Offboards a member: revokes its role (org, auditor or service) and retires the
    /// account, so it can never be registered again. Admin only. An offboarded org can no
    /// longer act in any session, including one it is taking part in (the others abort it);
    /// its registration data stays readable for the audit of past sessions.
    /// @param account The member's address; reverts `NotAMember` if it holds no member role.
    function offboard(address account) external;

    /// @notice The calling org publishes a new public encryption key. Material is sealed to the
    /// key registered when the service deals it, so a rotation takes effect for sessions dealt
    /// after it. Reverts `UnknownOrg` unless the caller is an org.
    /// @param encryptionKey The new key; nonzero.
    function rotateEncryptionKey(bytes32 encryptionKey) external;

    /// @notice The calling org moves its peer endpoint. Peers read endpoints when a session
    /// starts. Reverts `UnknownOrg` unless the caller is an org.
    /// @param endpoint The new endpoint (for example `host:port`); must not be empty.
    function setEndpoint(string calldata endpoint) external;

    /// @notice Adds a field modulus to the allow-list sessions draw from. Admin only. Not
    /// idempotent: allowing a modulus twice reverts `ModulusAlreadyAllowed`.
    /// @dev Only oddness and the lower bound `MIN_MODULUS` are checked, not primality (which
    /// cannot be checked cheaply): every participant and the auditor check primality off-chain
    /// against their own fixed table of primes (docs/protocols.md, "Session parameters").
    /// @param modulus The modulus: odd and at least 2^64.
    function allowModulus(uint256 modulus) external;

    /// @notice The consortium admin (OpenZeppelin's `defaultAdmin()`): the deployer until a
    /// two-step transfer hands the role over.
    /// @return The admin's address.
    function admin() external view returns (address);

    /// @notice The AccessControl role of member organisations.
    /// @return keccak256("ORG_ROLE").
    // A public constant's getter, named as the constant (see MIN_MODULUS).
    // slither-disable-next-line naming-convention
    function ORG_ROLE() external view returns (bytes32);

    /// @notice The AccessControl role of auditors.
    /// @return keccak256("AUDITOR_ROLE").
    // A public constant's getter, named as the constant (see MIN_MODULUS).
    // slither-disable-next-line naming-convention
    function AUDITOR_ROLE() external view returns (bytes32);

    /// @notice The AccessControl role of preprocessing services.
    /// @return keccak256("SERVICE_ROLE").
    // A public constant's getter, named as the constant (see MIN_MODULUS).
    // slither-disable-next-line naming-convention
    function SERVICE_ROLE() external view returns (bytes32);

    /// @notice The consortium's session manager, so an auditor needs the registry's address only.
    /// @return The manager's address; zero until `setSessionManager`.
    function sessionManager() external view returns (address);

    /// @notice The smallest modulus `allowModulus` accepts (a field below 2^64 leaves no room
    /// for 40-bit statistical masking of comparisons).
    /// @return 2^64.
    // The getter of a public constant, named as the constant is (Solidity's style for
    // constants): slither's mixedCase rule is for functions written as functions.
    // slither-disable-next-line naming-convention
    function MIN_MODULUS() external view returns (uint256);

    /// @notice Whether `account` is a registered organisation.
    /// @param account The address to look up.
    /// @return True if `account` is a registered org.
    function isOrg(address account) external view returns (bool);

    /// @notice Whether `account` is a registered auditor.
    /// @param account The address to look up.
    /// @return True if `account` is a registered auditor.
    function isAuditor(address account) external view returns (bool);

    /// @notice Whether `account` is a registered preprocessing service.
    /// @param account The address to look up.
    /// @return True if `account` is a registered service.
    function isService(address account) external view returns (bool);

    /// @notice Whether `account` was offboarded (and so can never be registered again).
    /// @param account The address to look up.
    /// @return True if `account` was offboarded.
    function isRetired(address account) external view returns (bool);

    /// @notice Whether `modulus` is on the admin's allow-list (see `allowModulus`).
    /// @param modulus The modulus to look up.
    /// @return True if sessions may use `modulus`.
    function isAllowedModulus(uint256 modulus) external view returns (bool);

    /// @notice The registration data of an organisation, current or offboarded (`isOrg` says
    /// which); reverts `UnknownOrg` if the account was never an org.
    /// @param org The organisation's address.
    /// @return name The org's name.
    /// @return encryptionKey The org's public encryption key.
    /// @return endpoint The org's peer endpoint.
    function orgInfo(
        address org
    ) external view returns (string memory name, bytes32 encryptionKey, string memory endpoint);

    /// @notice The number of organisations ever registered (offboarded ones included).
    /// @return The org count.
    function orgCount() external view returns (uint256);

    /// @notice The `i`-th organisation ever registered, in registration order.
    /// @param i Index, below `orgCount()`.
    /// @return The org's address.
    function orgAt(uint256 i) external view returns (address);
}
